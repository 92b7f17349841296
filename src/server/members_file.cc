#include "server/members_file.h"

#include "server/config.h"

namespace server {
namespace {

constexpr char kName[] = "members";
constexpr uint64_t kMaxBytes = 1 << 20;

}  // namespace

common::Result<std::map<uint64_t, std::string>> ReadMembersFile(common::Fs& fs, const std::string& data_dir) {
  const std::string path = data_dir + "/" + kName;
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return common::NotFoundError("no members file " + path);
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> f, fs.Open(path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, f->Size());
  if (size > kMaxBytes) return common::DataLossError(path + ": larger than " + std::to_string(kMaxBytes) + " bytes");
  std::string text(size, '\0');
  ASSIGN_OR_RETURN(size_t n, f->ReadAt(0, text.data(), text.size()));
  text.resize(n);
  if (text.empty() || text.back() != '\n') return common::DataLossError(path + ": truncated (no final newline)");
  text.pop_back();
  common::Result<std::map<uint64_t, std::string>> members = ParseMembers(text);
  if (!members.has_value()) return common::DataLossError(path + ": " + members.error().message());
  return members;
}

common::Status WriteMembersFile(common::Fs& fs, const std::string& data_dir,
                                const std::map<uint64_t, std::string>& members) {
  const std::string path = data_dir + "/" + kName;
  return common::ReplaceFileDurably(fs, path, FormatMembers(members) + "\n");
}

}  // namespace server
