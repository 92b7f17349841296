#include "raft/durable/snapshot_file.h"

#include <cinttypes>
#include <cstdio>
#include <memory>

#include "common/checksum.h"
#include "common/coding.h"

namespace raft::snapshot_file {

namespace {

constexpr std::string_view kSuffix = ".snap";
constexpr std::string_view kTempSuffix = ".tmp";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void PutIds(std::string* out, const std::vector<NodeId>& ids) {
  common::PutFixed32(out, static_cast<uint32_t>(ids.size()));
  for (NodeId id : ids) common::PutFixed64(out, id);
}

bool GetIds(std::string_view* in, std::vector<NodeId>* ids) {
  if (in->size() < 4) return false;
  uint32_t n = common::DecodeFixed32(in->data());
  in->remove_prefix(4);
  if (n > in->size() / 8) return false;
  ids->resize(n);
  for (uint32_t i = 0; i < n; ++i) (*ids)[i] = common::DecodeFixed64(in->data() + 8 * i);
  in->remove_prefix(8 * uint64_t{n});
  return true;
}

// The header with every field but the checksum filled in.
std::string HeaderWithoutChecksum(const SnapshotMeta& meta, uint32_t conf_len, uint64_t data_len) {
  std::string h;
  h.reserve(kHeaderSize);
  common::PutFixed64(&h, kMagic);
  common::PutFixed32(&h, kVersion);
  common::PutFixed32(&h, conf_len);
  common::PutFixed64(&h, meta.index);
  common::PutFixed64(&h, meta.term);
  common::PutFixed64(&h, data_len);
  return h;
}

// XXH3-64 of header bytes [0, 40), then the conf state, then the data, each
// pass seeded with the previous one's result (the format doc spells it out).
uint64_t FileChecksum(std::string_view header40, std::string_view conf, std::string_view data) {
  uint64_t h = common::Checksum64(header40.data(), kChecksumOffset);
  h = common::Checksum64Seeded(conf.data(), conf.size(), h);
  return common::Checksum64Seeded(data.data(), data.size(), h);
}

// Header and conf state, checksum included: everything but the data.
std::string EncodeHead(const SnapshotMeta& meta, std::string_view data) {
  std::string conf = EncodeConfState(meta.conf_state);
  std::string head = HeaderWithoutChecksum(meta, static_cast<uint32_t>(conf.size()), data.size());
  common::PutFixed64(&head, FileChecksum(head, conf, data));
  head += conf;
  return head;
}

Status DataLoss(const std::string& path, const std::string& what) {
  return common::DataLossError("snapshot file " + path + ": " + what);
}

}  // namespace

std::string FileName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64, index);
  return std::string(buf) + std::string(kSuffix);
}

bool ParseFileName(std::string_view name, uint64_t* index) {
  if (name.size() != 20 + kSuffix.size() || !EndsWith(name, kSuffix)) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *index = v;
  return true;
}

std::string EncodeConfState(const ConfState& cs) {
  std::string out;
  PutIds(&out, cs.voters);
  PutIds(&out, cs.learners);
  PutIds(&out, cs.voters_outgoing);
  PutIds(&out, cs.learners_next);
  out.push_back(cs.auto_leave ? 1 : 0);
  return out;
}

Result<ConfState> DecodeConfState(std::string_view data) {
  ConfState cs;
  if (!GetIds(&data, &cs.voters) || !GetIds(&data, &cs.learners) || !GetIds(&data, &cs.voters_outgoing) ||
      !GetIds(&data, &cs.learners_next) || data.size() != 1 || static_cast<uint8_t>(data[0]) > 1) {
    return common::DataLossError("malformed conf state");
  }
  cs.auto_leave = data[0] == 1;
  return cs;
}

std::string Encode(const SnapshotMeta& meta, std::string_view data) {
  std::string out = EncodeHead(meta, data);
  out.append(data);
  return out;
}

Result<Snapshot> Decode(std::string_view bytes, uint64_t expected_index, const std::string& path) {
  if (bytes.size() < kHeaderSize) {
    return DataLoss(path, std::to_string(bytes.size()) + " bytes, shorter than the header");
  }
  const char* p = bytes.data();
  if (common::DecodeFixed64(p) != kMagic) return DataLoss(path, "bad magic (not a snapshot file)");
  uint32_t conf_len = common::DecodeFixed32(p + 12);
  uint64_t data_len = common::DecodeFixed64(p + 32);
  if (conf_len > kMaxConfBytes || bytes.size() - kHeaderSize < conf_len ||
      data_len != bytes.size() - kHeaderSize - conf_len) {
    return DataLoss(path, "lengths (conf " + std::to_string(conf_len) + ", data " + std::to_string(data_len) +
                              ") disagree with the file size " + std::to_string(bytes.size()));
  }
  std::string_view conf = bytes.substr(kHeaderSize, conf_len);
  std::string_view data = bytes.substr(kHeaderSize + conf_len);
  uint64_t stored = common::DecodeFixed64(p + kChecksumOffset);
  if (FileChecksum(bytes.substr(0, kChecksumOffset), conf, data) != stored) {
    return DataLoss(path, "checksum mismatch");
  }
  uint32_t version = common::DecodeFixed32(p + 8);
  if (version != kVersion) {
    return common::FailedPreconditionError("snapshot file " + path + ": unsupported format version " +
                                           std::to_string(version) + " (this build reads " +
                                           std::to_string(kVersion) + ")");
  }
  Snapshot snap;
  snap.meta.index = common::DecodeFixed64(p + 16);
  snap.meta.term = common::DecodeFixed64(p + 24);
  if (snap.meta.index != expected_index) {
    return DataLoss(path, "holds index " + std::to_string(snap.meta.index) + ", its name says " +
                              std::to_string(expected_index));
  }
  Result<ConfState> cs = DecodeConfState(conf);
  if (!cs.has_value()) return DataLoss(path, cs.error().message());
  snap.meta.conf_state = std::move(*cs);
  snap.data.assign(data);
  return snap;
}

Status Write(common::Fs& fs, const std::string& dir, const SnapshotMeta& meta, std::string_view data) {
  const std::string final_path = common::JoinPath(dir, FileName(meta.index));
  const std::string tmp_path = final_path + std::string(kTempSuffix);
  {
    ASSIGN_OR_RETURN(std::unique_ptr<common::File> file, fs.Open(tmp_path, common::OpenMode::kCreate));
    RETURN_IF_ERROR(file->Truncate(0));  // a temp file left by an earlier failure
    // Header and conf state, then the data in place: a large snapshot is not copied.
    std::string head = EncodeHead(meta, data);
    RETURN_IF_ERROR(file->WriteAt(0, head.data(), head.size()));
    if (!data.empty()) RETURN_IF_ERROR(file->WriteAt(head.size(), data.data(), data.size()));
    RETURN_IF_ERROR(file->Sync());
  }
  RETURN_IF_ERROR(fs.Rename(tmp_path, final_path));
  return fs.SyncDir(dir);
}

Result<Snapshot> Read(common::Fs& fs, const std::string& dir, uint64_t index) {
  const std::string path = common::JoinPath(dir, FileName(index));
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> file, fs.Open(path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string bytes(size, '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, bytes.data(), size));
  if (n != size) return DataLoss(path, "read " + std::to_string(n) + " of " + std::to_string(size) + " bytes");
  return Decode(bytes, index, path);
}

Result<std::vector<uint64_t>> ListSnapshotFiles(common::Fs& fs, const std::string& dir, uint64_t* temps_removed) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(dir));
  std::vector<uint64_t> out;
  for (const std::string& name : names) {
    if (EndsWith(name, kTempSuffix)) {
      RETURN_IF_ERROR(fs.Remove(common::JoinPath(dir, name)));
      if (temps_removed != nullptr) ++*temps_removed;
      continue;
    }
    uint64_t index = 0;
    if (ParseFileName(name, &index)) out.push_back(index);
  }
  return out;  // ListDir sorts names, and zero-padded names sort by index
}

}  // namespace raft::snapshot_file
