#pragma once

// The members file, <data_dir>/members: the addresses of the cluster's
// members as this member last learned them at its join ("1=h:p,2=h:p"
// followed by a newline, the format of ParseMembers). A member that joined
// with --join has no --initial-members to find its peers with on restart:
// it reads them here. Written whole to a temporary name, synced and renamed,
// so it is either the old or the new content.

#include <cstdint>
#include <map>
#include <string>

#include "common/fs.h"
#include "common/status.h"

namespace server {

// kNotFound when there is no members file; kDataLoss when it does not parse.
common::Result<std::map<uint64_t, std::string>> ReadMembersFile(common::Fs& fs, const std::string& data_dir);
common::Status WriteMembersFile(common::Fs& fs, const std::string& data_dir,
                                const std::map<uint64_t, std::string>& members);

}  // namespace server
