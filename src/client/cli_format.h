#pragma once

// What the `replog` CLI prints and parses, as plain functions so that tests
// can check them (apps/replog uses them; docs/client.md shows the output).
//
// Bytes in JSON: a key or value that is valid UTF-8 is a JSON string; one
// that is not is base64 (RFC 4648, padded) and its object gets a
// "<field>_encoding":"base64" member. In human output, bytes that are not
// printable (control characters, invalid UTF-8) and the backslash are
// escaped (\t, \n, \r, \\, \xHH), so that one record is one line.

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "client/types.h"
#include "common/status.h"

namespace replog::cli {

// "a:1, b:2,,c:3" -> {"a:1", "b:2", "c:3"} (blanks trimmed, empties dropped).
std::vector<std::string> SplitAddresses(std::string_view csv);

// "k=v" -> {k, v} (v may be empty or contain '='); kInvalidArgument when
// there is no '=' or the key is empty.
common::Result<Header> ParseHeader(std::string_view text);

bool IsValidUtf8(std::string_view bytes);
std::string Base64(std::string_view bytes);
// A JSON string literal of valid UTF-8 text, quotes included.
std::string JsonString(std::string_view utf8);
// `"name":<string>` for bytes that are UTF-8, else
// `"name":"<base64>","name_encoding":"base64"`.
std::string JsonBytesMember(std::string_view name, std::string_view bytes);
// The escaped form of `bytes` for human output.
std::string HumanBytes(std::string_view bytes);

// "<offset>\t<key>\t<value>[\t<hkey>=<hvalue>]..." (one line, no newline).
std::string FormatRecordHuman(const Record& r);
// {"offset":1,"key":"k","value":"v","headers":[{"key":"h","value":"x"}],"timestamp_ms":5}
std::string FormatRecordJson(const Record& r);
// "offset 42" / {"offset":42}
std::string FormatOffsetHuman(uint64_t offset);
std::string FormatOffsetJson(uint64_t offset);

// A table, one line per member, leader marked with '*':
//   ID    ADDRESS         ROLE       LEADER
//   1     127.0.0.1:7001  leader     *
//   2     127.0.0.1:7002  follower
std::string FormatServersTable(const ClusterView& view);
// {"leader_id":1,"term":3,"servers":[{"id":1,"address":"..","role":"leader","is_leader":true},...]}
std::string FormatServersJson(const ClusterView& view);

// Reads the next lines of `in` (without their '\n') into *lines, at most
// max_lines and stopping after the line that reaches max_bytes; every line
// is returned whole. Returns false when `in` had no line left (then *lines
// is empty).
bool ReadLineBatch(std::istream& in, size_t max_lines, size_t max_bytes, std::vector<std::string>* lines);

}  // namespace replog::cli
