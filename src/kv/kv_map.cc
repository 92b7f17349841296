#include "kv/kv_map.h"

#include "common/checksum.h"
#include "common/coding.h"

namespace kv {

using common::Status;

namespace {

// Bounds a decoder trusts before it allocates (a damaged length must not ask
// for gigabytes).
constexpr uint32_t kMaxKeyBytes = 64 << 10;
constexpr uint32_t kMaxValueBytes = 64 << 20;

bool ReadBytes(std::string_view* in, uint32_t max, std::string_view* out) {
  uint32_t n = 0;
  if (!common::GetFixed32(in, &n) || n > max || in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

const KvValue* KvMap::Get(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

std::optional<KvValue> KvMap::Put(std::string_view key, std::string value, uint64_t revision) {
  auto it = map_.find(key);
  if (it == map_.end()) {
    bytes_ += key.size() + value.size();
    map_.emplace(std::string(key), KvValue{std::move(value), revision, revision, 1});
    return std::nullopt;
  }
  KvValue before = it->second;
  bytes_ = bytes_ - before.value.size() + value.size();
  it->second.value = std::move(value);
  it->second.mod_revision = revision;
  it->second.version++;
  return before;
}

std::optional<KvValue> KvMap::Delete(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  KvValue removed = std::move(it->second);
  bytes_ -= it->first.size() + removed.value.size();
  map_.erase(it);
  return removed;
}

bool KvMap::Matches(std::string_view key, const KvCompare& c) const {
  const KvValue* v = Get(key);
  switch (c.kind) {
    case KvCompare::Kind::kValue:
      return v != nullptr && v->value == c.value;
    case KvCompare::Kind::kModRevision:
      return v == nullptr ? c.mod_revision == 0 : v->mod_revision == c.mod_revision;
  }
  return false;
}

KvRange KvMap::Range(std::string_view start, std::string_view end, size_t limit, bool keys_only) const {
  KvRange out;
  for (auto it = map_.lower_bound(start); it != map_.end() && (end.empty() || it->first < end); ++it) {
    if (limit > 0 && out.items.size() == limit) {
      out.more = true;
      break;
    }
    if (keys_only) {
      const KvValue& v = it->second;
      out.items.emplace_back(it->first, KvValue{.create_revision = v.create_revision,
                                                .mod_revision = v.mod_revision,
                                                .version = v.version});
    } else {
      out.items.emplace_back(it->first, it->second);
    }
  }
  return out;
}

std::string KvMap::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

void KvMap::EncodeTo(std::string* out) const {
  common::PutFixed64(out, map_.size());
  for (const auto& [key, v] : map_) {
    common::PutFixed32(out, static_cast<uint32_t>(key.size()));
    out->append(key);
    common::PutFixed32(out, static_cast<uint32_t>(v.value.size()));
    out->append(v.value);
    common::PutFixed64(out, v.create_revision);
    common::PutFixed64(out, v.mod_revision);
    common::PutFixed64(out, v.version);
  }
}

Status KvMap::DecodeFrom(std::string_view* in) {
  std::string_view rest = *in;
  uint64_t count = 0;
  if (!common::GetFixed64(&rest, &count)) return common::DataLossError("kv map: the key count is cut short");
  // Each entry takes at least 32 bytes: a count beyond that is damage.
  if (count > rest.size() / 32) {
    return common::DataLossError("kv map: " + std::to_string(count) + " keys cannot fit in " +
                                 std::to_string(rest.size()) + " bytes");
  }
  std::map<std::string, KvValue, std::less<>> map;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string where = "kv map: key #" + std::to_string(i) + " of " + std::to_string(count);
    std::string_view key, value;
    KvValue v;
    if (!ReadBytes(&rest, kMaxKeyBytes, &key) || !ReadBytes(&rest, kMaxValueBytes, &value) ||
        !common::GetFixed64(&rest, &v.create_revision) || !common::GetFixed64(&rest, &v.mod_revision) ||
        !common::GetFixed64(&rest, &v.version)) {
      return common::DataLossError(where + ": cut short or a length out of bounds");
    }
    if (!map.empty() && key <= map.rbegin()->first) return common::DataLossError(where + ": keys out of order");
    // Every write has its own revision, so a key written `version` times
    // spans at least that many.
    if (v.create_revision == 0 || v.create_revision > v.mod_revision || v.version == 0 ||
        v.version - 1 > v.mod_revision - v.create_revision) {
      return common::DataLossError(where + ": impossible revisions (create " + std::to_string(v.create_revision) +
                                   ", mod " + std::to_string(v.mod_revision) + ", version " +
                                   std::to_string(v.version) + ")");
    }
    v.value.assign(value);
    bytes += key.size() + value.size();
    map.emplace_hint(map.end(), std::string(key), std::move(v));
  }
  map_ = std::move(map);
  bytes_ = bytes;
  *in = rest;
  return Status::Ok();
}

uint64_t KvMap::Hash() const {
  std::string bytes;
  EncodeTo(&bytes);
  return common::Checksum64(bytes);
}

}  // namespace kv
