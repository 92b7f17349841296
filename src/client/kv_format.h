#pragma once

// What `replog kv` prints (apps/replog/kv_command.cc; docs/client.md, "The
// `replog kv` commands"), as plain functions so that tests can check them.
// Keys and values follow cli_format.h: escaped in human output (one line
// each), JSON strings or base64 with "<field>_encoding":"base64" in JSON.
// Every function returns one line without its newline, unless it says
// otherwise.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/kv_client.h"

namespace replog::cli {

// {"key":"k","value":"v","create_revision":1,"mod_revision":3,"version":2}
// (keys_only: no "value").
std::string FormatKeyValueJson(const KeyValue& kv, bool keys_only = false);

// "revision 12" / {"revision":12,"previous":{...}|null}
std::string FormatPutHuman(const PutResult& r);
std::string FormatPutJson(const PutResult& r);
// "deleted, revision 12" or "not found, revision 12" /
// {"revision":12,"deleted":true,"previous":{...}|null}
std::string FormatDeleteHuman(const DeleteResult& r);
std::string FormatDeleteJson(const DeleteResult& r);
// "swapped, revision 12" or "not swapped, revision 12; current: <value>
// (mod_revision 5)" / "...; current: absent" /
// {"revision":12,"succeeded":false,"current":{...}|null}
std::string FormatCasHuman(const CasResult& r);
std::string FormatCasJson(const CasResult& r);
// Human: the value alone (escaped); nothing to print when not found.
// JSON: {"found":true,"kv":{...},"revision":9} / {"found":false,"revision":9}
std::string FormatGetHuman(const GetResult& r);
std::string FormatGetJson(const GetResult& r);
// One scanned key: "<key>\t<value>" (keys_only: "<key>") / FormatKeyValueJson.
std::string FormatScanHuman(const KeyValue& kv, bool keys_only);

// One member's row of `replog kv status`: its status, or why it did not answer.
struct KvStatusRow {
  std::string address;
  std::optional<KvMemberStatus> status;
  std::string error;  // when !status
};
// A table with a header, one line per member (newlines included):
//   ID  ADDRESS         TERM  APPLIED  COMMIT  KEYS  HASH              LEADER
//   1   127.0.0.1:7001  2     17       17      4     9a3c0e1f22b4d5e6  *
// LEADER marks the member that the members answering name as the KV leader.
std::string FormatKvStatusTable(const std::vector<KvStatusRow>& rows);
// {"members":[{"address":..,"reachable":true,"member_id":1,"leader_id":1,...},
//             {"address":..,"reachable":false,"error":".."}]}
std::string FormatKvStatusJson(const std::vector<KvStatusRow>& rows);

// The first key after every key that begins with `prefix` ("" when there is
// none: the prefix is empty or all 0xff bytes): the end of a prefix scan as
// a range, so that a long scan can go on page by page.
std::string PrefixEnd(std::string_view prefix);

}  // namespace replog::cli
