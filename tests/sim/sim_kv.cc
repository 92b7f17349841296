#include "sim/sim_kv.h"

#include "common/checksum.h"
#include "common/coding.h"

namespace sim {
namespace {

void PutString(std::string* out, const std::string& s) {
  common::PutFixed32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool GetString(const std::string& in, size_t* pos, std::string* s) {
  if (in.size() - *pos < 4) return false;
  uint32_t n = common::DecodeFixed32(in.data() + *pos);
  *pos += 4;
  if (in.size() - *pos < n) return false;
  s->assign(in, *pos, n);
  *pos += n;
  return true;
}

}  // namespace

std::string EncodeCommand(const Command& c) {
  std::string out;
  common::PutFixed64(&out, c.client);
  common::PutFixed64(&out, c.seq);
  out.push_back(static_cast<char>(c.input.op));
  PutString(&out, c.input.key);
  PutString(&out, c.input.value);
  out.push_back(c.input.expected ? 1 : 0);
  if (c.input.expected) PutString(&out, *c.input.expected);
  return out;
}

std::optional<Command> DecodeCommand(const std::string& data) {
  if (data.size() < 17) return std::nullopt;
  Command c;
  c.client = common::DecodeFixed64(data.data());
  c.seq = common::DecodeFixed64(data.data() + 8);
  uint8_t op = static_cast<uint8_t>(data[16]);
  if (op > 3) return std::nullopt;
  c.input.op = static_cast<lincheck::KvOp>(op);
  size_t pos = 17;
  if (!GetString(data, &pos, &c.input.key) || !GetString(data, &pos, &c.input.value)) return std::nullopt;
  if (pos >= data.size()) return std::nullopt;
  bool has_expected = data[pos++] != 0;
  if (has_expected) {
    std::string e;
    if (!GetString(data, &pos, &e)) return std::nullopt;
    c.input.expected = std::move(e);
  }
  if (pos != data.size()) return std::nullopt;
  return c;
}

lincheck::KvOutput KvStateMachine::Apply(const lincheck::KvInput& in) {
  switch (in.op) {
    case lincheck::KvOp::kPut:
      map_[in.key] = in.value;
      return lincheck::KvDone();
    case lincheck::KvOp::kGet:
      return lincheck::KvRead(Get(in.key));
    case lincheck::KvOp::kCas:
      if (Get(in.key) != in.expected) return lincheck::KvNotSwapped();
      map_[in.key] = in.value;
      return lincheck::KvSwapped();
    case lincheck::KvOp::kDelete:
      map_.erase(in.key);
      return lincheck::KvDone();
  }
  return {};
}

std::optional<std::string> KvStateMachine::Get(const std::string& key) const {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

std::string KvStateMachine::Serialize() const {
  std::string out;
  common::PutFixed32(&out, static_cast<uint32_t>(map_.size()));
  for (const auto& [k, v] : map_) {
    PutString(&out, k);
    PutString(&out, v);
  }
  return out;
}

bool KvStateMachine::Restore(const std::string& data) {
  std::map<std::string, std::string> m;
  if (data.size() < 4) return false;
  uint32_t n = common::DecodeFixed32(data.data());
  size_t pos = 4;
  for (uint32_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!GetString(data, &pos, &k) || !GetString(data, &pos, &v)) return false;
    m.emplace(std::move(k), std::move(v));
  }
  if (pos != data.size()) return false;
  map_ = std::move(m);
  return true;
}

uint64_t KvStateMachine::Hash() const {
  std::string s = Serialize();
  return common::Checksum64(s.data(), s.size());
}

}  // namespace sim
