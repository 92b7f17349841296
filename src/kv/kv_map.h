#pragma once

// KvMap: the state of the key-value store (issue 6; DESIGN §5, "KV"): an
// ordered map from key to value in which every key carries the revisions of
// its writes. A revision is the Raft index of the entry that wrote, so it
// grows with every write and is the same on every member.
//
// It is a pure, deterministic data structure: the same calls in the same
// order give the same map, the same encoding and the same Hash() on every
// member, which is what lets a restart or a snapshot install be checked
// against the others (compare Hash() at the same applied index).
//
// Snapshot encoding (docs/formats/kv-map.md): EncodeTo / DecodeFrom.
//
// Threads: none of its own; not thread-safe (its owner locks it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kv {

struct KvValue {
  std::string value;
  uint64_t create_revision = 0;  // the write that created the key (after its last delete)
  uint64_t mod_revision = 0;     // the key's last write
  uint64_t version = 0;          // writes since it was created: 1 after the first
  bool operator==(const KvValue&) const = default;
};

// A compare-and-set condition on one key.
struct KvCompare {
  enum class Kind : uint8_t {
    kValue = 1,        // the key exists and holds `value`
    kModRevision = 2,  // the key's mod_revision is `mod_revision`; 0: the key does not exist
  };
  Kind kind = Kind::kModRevision;
  std::string value;
  uint64_t mod_revision = 0;
  bool operator==(const KvCompare&) const = default;
};

struct KvRange {
  std::vector<std::pair<std::string, KvValue>> items;  // in key order
  bool more = false;                                    // the limit cut the range short
};

class KvMap {
 public:
  // The key's value, or nullptr. The pointer is valid until the next change.
  const KvValue* Get(std::string_view key) const;

  // Writes `value` to `key` at `revision` (the Raft index of the write; it
  // must be above every revision in the map, which the caller ensures by
  // applying entries in order). Returns the value it replaced, if any.
  std::optional<KvValue> Put(std::string_view key, std::string value, uint64_t revision);

  // Removes `key`. Returns the value it removed, if any.
  std::optional<KvValue> Delete(std::string_view key);

  // Whether `key` meets `c` now.
  bool Matches(std::string_view key, const KvCompare& c) const;

  // The keys in [start, end) in order (end "": to the last key), at most
  // `limit` of them (0: no limit); with keys_only, their values left empty
  // (not copied).
  KvRange Range(std::string_view start, std::string_view end, size_t limit, bool keys_only = false) const;

  // The end of the range of keys that begin with `prefix`: the least key
  // greater than all of them, or "" (the last key) when there is none (an
  // empty prefix, or one of bytes 0xff only).
  static std::string PrefixEnd(std::string_view prefix);

  size_t size() const { return map_.size(); }
  // Bytes of keys and values held (not counting the map's own overhead).
  uint64_t bytes() const { return bytes_; }

  // The map's content as bytes, keys in order: equal maps encode equally.
  void EncodeTo(std::string* out) const;
  // Replaces the content with what EncodeTo wrote, reading from the front of
  // `*in` and advancing it. kDataLoss naming the flaw (and the entry) when it
  // is malformed: a length past the end, keys out of order, impossible
  // revisions. On error the map is unchanged.
  common::Status DecodeFrom(std::string_view* in);
  // XXH3-64 of EncodeTo's bytes.
  uint64_t Hash() const;

 private:
  std::map<std::string, KvValue, std::less<>> map_;
  uint64_t bytes_ = 0;
};

}  // namespace kv
