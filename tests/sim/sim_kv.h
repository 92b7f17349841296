#pragma once

// The simulated clients' state machine: a map of string keys to values with
// put, get, compare-and-set and delete (lincheck::KvInput/KvOutput), and the
// encoding of a command in a Raft entry.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sim/kv_model.h"

namespace sim {

// A client's request as it travels in a Raft entry: who sent it and the
// operation.
struct Command {
  uint64_t client = 0;
  uint64_t seq = 0;
  lincheck::KvInput input;
};

std::string EncodeCommand(const Command& c);
// nullopt if `data` is not an encoded command (a CHECK in the caller: the
// simulator writes every entry itself).
std::optional<Command> DecodeCommand(const std::string& data);

class KvStateMachine {
 public:
  lincheck::KvOutput Apply(const lincheck::KvInput& in);
  std::optional<std::string> Get(const std::string& key) const;

  std::string Serialize() const;
  bool Restore(const std::string& data);  // false if malformed
  uint64_t Hash() const;
  const std::map<std::string, std::string>& map() const { return map_; }

 private:
  std::map<std::string, std::string> map_;
};

}  // namespace sim
