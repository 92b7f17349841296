#include "apps/replog/kv_command.h"

// GCC 12 sees a "potential null pointer dereference" inside CLI11 2.1's
// string helpers (as in cli.cc); not in our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <memory>
#include <ostream>

#include "client/kv_client.h"
#include "client/kv_format.h"

namespace replog::cli {

namespace {

using common::Status;

// Keys asked for per Scan request when a scan goes on page by page.
constexpr uint32_t kScanPage = 1000;

class KvRunner {
 public:
  KvRunner(const KvFlags& f, const KvGlobals& g, const CliIo& io) : f_(f), g_(g), io_(io) {}

  Status Connect() {
    KvClientOptions o;
    o.bootstrap_addresses = g_.addrs;
    o.deadline_ms = g_.deadline_ms;
    o.attempt_timeout_ms = std::min<int64_t>(o.attempt_timeout_ms, o.deadline_ms);
    o.discovery_timeout_ms = std::min<int64_t>(o.discovery_timeout_ms, o.deadline_ms);
    o.clock = io_.clock;
    o.credentials = g_.credentials;
    auto c = KvClient::Connect(std::move(o));
    if (!c.has_value()) return c.error();
    client_ = std::move(*c);
    return Status::Ok();
  }

  // Runs `command`; *exit_code is set when it succeeded with another code than 0.
  Status Run(const std::string& command, int* exit_code) {
    if (command == "put") return Put();
    if (command == "get") return Get(exit_code);
    if (command == "del") return Delete();
    if (command == "cas") return Cas(exit_code);
    if (command == "scan") return Scan();
    return MemberStatus();
  }

 private:
  ReadConsistency Consistency() const { return f_.local ? ReadConsistency::kLocal : ReadConsistency::kLinearizable; }

  void Line(const std::string& line) { io_.out << line << "\n"; }

  Status Put() {
    auto r = client_->Put(f_.key, f_.value);
    if (!r.has_value()) return r.error();
    Line(g_.json ? FormatPutJson(*r) : FormatPutHuman(*r));
    return Status::Ok();
  }

  Status Get(int* exit_code) {
    auto r = client_->Get(f_.key, Consistency());
    if (!r.has_value()) return r.error();
    if (g_.json) Line(FormatGetJson(*r));
    else if (r->found) Line(FormatGetHuman(*r));
    if (!r->found) *exit_code = kExitNotFound;
    return Status::Ok();
  }

  Status Delete() {
    auto r = client_->Delete(f_.key);
    if (!r.has_value()) return r.error();
    Line(g_.json ? FormatDeleteJson(*r) : FormatDeleteHuman(*r));
    return Status::Ok();
  }

  Status Cas(int* exit_code) {
    KvCompare compare = KvCompare::Absent();
    if (!f_.expect.empty()) compare = KvCompare::Value(f_.expect.front());
    else if (!f_.expect_revision.empty()) compare = KvCompare::ModRevision(f_.expect_revision.front());
    const KvSwap swap = f_.delete_key ? KvSwap::Delete() : KvSwap::Put(f_.new_value.front());
    auto r = client_->CompareAndSet(f_.key, compare, swap);
    if (!r.has_value()) return r.error();
    Line(g_.json ? FormatCasJson(*r) : FormatCasHuman(*r));
    if (!r->succeeded) *exit_code = kExitNotSwapped;
    return Status::Ok();
  }

  // Page by page until the range ends or --limit keys were printed. Each
  // page is its own read: a long scan is not one snapshot.
  Status Scan() {
    ScanOptions o;
    o.keys_only = f_.keys_only;
    o.consistency = Consistency();
    if (!f_.prefix.empty()) {
      o.prefix = f_.prefix;
    } else {
      o.start = f_.from;
      o.end = f_.to;
    }
    uint64_t printed = 0;
    for (;;) {
      o.limit = f_.limit == 0 ? kScanPage : static_cast<uint32_t>(std::min<uint64_t>(f_.limit - printed, kScanPage));
      auto r = client_->Scan(o);
      if (!r.has_value()) return r.error();
      for (const KeyValue& kv : r->kvs) {
        Line(g_.json ? FormatKeyValueJson(kv, f_.keys_only) : FormatScanHuman(kv, f_.keys_only));
      }
      printed += r->kvs.size();
      io_.out.flush();
      if (!r->more || r->kvs.empty() || (f_.limit != 0 && printed >= f_.limit)) return Status::Ok();
      // On from just after the last key, as a range.
      o.start = r->kvs.back().key + std::string(1, '\0');
      if (!o.prefix.empty()) o.end = PrefixEnd(o.prefix);
      o.prefix.clear();
    }
  }

  Status MemberStatus() {
    std::vector<KvStatusRow> rows;
    for (const std::string& address : client_->member_addresses()) {
      auto st = client_->Status(address);
      rows.push_back(KvStatusRow{address, st.has_value() ? std::optional<KvMemberStatus>(*st) : std::nullopt,
                                 st.has_value() ? "" : st.error().ToString()});
    }
    io_.out << (g_.json ? FormatKvStatusJson(rows) + "\n" : FormatKvStatusTable(rows));
    return Status::Ok();
  }

  const KvFlags& f_;
  const KvGlobals& g_;
  const CliIo& io_;
  std::unique_ptr<KvClient> client_;
};

// The usage errors CLI11 cannot express: cas needs one compare and one action.
std::string CheckCas(const KvFlags& f) {
  const int compares = static_cast<int>(!f.expect.empty()) + static_cast<int>(!f.expect_revision.empty()) +
                       static_cast<int>(f.expect_absent);
  if (compares != 1) return "give exactly one of --expect, --expect-revision, --expect-absent";
  if (f.new_value.empty() == !f.delete_key) return "give exactly one of --value, --delete";
  return "";
}

}  // namespace

CLI::App* AddKvCommand(CLI::App& app, KvFlags* f) {
  CLI::App* kv = app.add_subcommand("kv", "the key-value store: put, get, del, cas, scan, status");
  kv->require_subcommand(1);
  kv->footer("Exit codes: 0 ok; 1 failed; 2 usage; 3 cas did not swap; 4 get found no such key.");
  CLI::App* put = kv->add_subcommand("put", "set KEY to VALUE; prints the write's revision");
  put->add_option("key", f->key, "key")->required();
  put->add_option("value", f->value, "value")->required();
  CLI::App* get = kv->add_subcommand("get", "print KEY's value (--json: with its revisions)");
  get->add_option("key", f->key, "key")->required();
  get->add_flag("--local", f->local, "the member's own state at once, possibly stale (default: linearizable)");
  CLI::App* del = kv->add_subcommand("del", "delete KEY; prints whether it existed and the revision");
  del->add_option("key", f->key, "key")->required();
  CLI::App* cas = kv->add_subcommand("cas", "compare-and-set: write KEY only if it is as expected");
  cas->add_option("key", f->key, "key")->required();
  cas->add_option("--expect", f->expect, "KEY exists and holds exactly this value")->expected(1);
  cas->add_option("--expect-revision", f->expect_revision, "KEY's mod_revision is N (0: KEY is absent)")
      ->expected(1);
  cas->add_flag("--expect-absent", f->expect_absent, "KEY does not exist");
  cas->add_option("--value", f->new_value, "then set KEY to this value")->expected(1);
  cas->add_flag("--delete", f->delete_key, "then delete KEY");
  CLI::App* scan = kv->add_subcommand("scan", "print keys in order: <key> TAB <value> per line");
  auto* prefix = scan->add_option("--prefix", f->prefix, "the keys that begin with P");
  scan->add_option("--from", f->from, "first key (inclusive)")->excludes(prefix);
  scan->add_option("--to", f->to, "end key (exclusive; none: to the last key)")->excludes(prefix);
  scan->add_option("--limit", f->limit, "print at most N keys (0: all)")->capture_default_str();
  scan->add_flag("--keys-only", f->keys_only, "keys without values");
  scan->add_flag("--local", f->local, "the member's own state at once, possibly stale (default: linearizable)");
  kv->add_subcommand("status", "each member's view of the KV group: term, applied index, keys, hash, leader");
  return kv;
}

int RunKv(const CLI::App& kv, const KvFlags& f, const KvGlobals& g, const CliIo& io) {
  const std::string command = kv.get_subcommands().front()->get_name();
  if (command == "cas") {
    if (std::string usage = CheckCas(f); !usage.empty()) {
      io.err << "replog kv cas: " << usage << "\n";
      return 2;
    }
  }
  KvRunner runner(f, g, io);
  int exit_code = 0;
  Status s = runner.Connect();
  if (s.ok()) s = runner.Run(command, &exit_code);
  if (s.ok()) return exit_code;
  io.err << "replog kv " << command << ": " << s.ToString() << "\n" << TlsHint(s, g.credentials != nullptr);
  return 1;
}

}  // namespace replog::cli
