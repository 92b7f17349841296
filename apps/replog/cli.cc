#include "apps/replog/cli.h"

#include "apps/replog/kv_command.h"

// GCC 12 sees a "potential null pointer dereference" inside CLI11 2.1's
// string helpers (std::vector<std::string> growth); not in our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "client/cli_format.h"
#include "client/client.h"
#include "client/cluster_admin.h"
#include "client/cluster_format.h"
#include "client/tls_credentials.h"

namespace replog::cli {

namespace {

using common::Status;

struct GlobalFlags {
  std::string addrs = kDefaultAddrs;
  bool json = false;
  double timeout_s = 10;
  ClientTlsFiles tls;
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // from `tls`, after parsing
};

// --timeout in milliseconds (at least 1).
int64_t DeadlineMs(const GlobalFlags& g) { return std::max<int64_t>(1, static_cast<int64_t>(g.timeout_s * 1000)); }

struct ProduceFlags {
  std::vector<std::string> values;
  std::string key;
  std::vector<std::string> headers;
  bool no_exactly_once = false;
};

struct ConsumeFlags {
  uint64_t from = 0;
  uint64_t max = 0;  // 0: no limit
  uint32_t batch = 1000;
  bool follow = false;
  bool linearizable = false;
  bool leader = false;
  std::string member;
};

struct ClusterFlags {
  uint64_t id = 0;  // transfer: 0 = the most up-to-date voter; leave: required
};

class Runner {
 public:
  Runner(const GlobalFlags& g, const CliIo& io) : g_(g), io_(io) {}

  int64_t Deadline() const { return DeadlineMs(g_); }

  // `exactly_once`: ClientOptions::exactly_once (only produce cares).
  Status Connect(bool exactly_once) {
    ClientOptions o;
    o.exactly_once = exactly_once;
    o.bootstrap_addresses = SplitAddresses(g_.addrs);
    o.deadline_ms = Deadline();
    o.attempt_timeout_ms = std::min<int64_t>(o.attempt_timeout_ms, o.deadline_ms);
    o.discovery_timeout_ms = std::min<int64_t>(o.discovery_timeout_ms, o.deadline_ms);
    o.clock = io_.clock;
    o.credentials = g_.credentials;
    auto c = Client::Connect(std::move(o));
    if (!c.has_value()) return c.error();
    client_ = std::move(*c);
    return Status::Ok();
  }

  Status Produce(const ProduceFlags& f, const std::vector<Header>& headers) {
    auto make = [&](std::string value) { return Record{.key = f.key, .value = std::move(value), .headers = headers}; };
    if (!f.values.empty()) {
      std::vector<Record> records;
      for (const std::string& v : f.values) records.push_back(make(v));
      return ProduceBatch(records);
    }
    std::vector<std::string> lines;
    while (ReadLineBatch(io_.in, kStdinBatchLines, kStdinBatchBytes, &lines)) {
      std::vector<Record> records;
      for (std::string& line : lines) records.push_back(make(std::move(line)));
      RETURN_IF_ERROR(ProduceBatch(records));
    }
    return Status::Ok();
  }

  Status Consume(const ConsumeFlags& f) {
    ConsumeOptions o = ReadOptions(f);
    uint64_t printed = 0;
    auto print = [&](const ConsumeBatch& b) {
      for (const Record& r : b.records) {
        if (f.max != 0 && printed == f.max) break;
        io_.out << (g_.json ? FormatRecordJson(r) : FormatRecordHuman(r)) << "\n";
        printed++;
      }
      io_.out.flush();
      return f.max == 0 || printed < f.max;
    };
    if (f.follow) return client_->ConsumeStream(f.from, o, print);
    uint64_t next = f.from;
    for (;;) {
      auto b = client_->Consume(next, o);
      if (!b.has_value()) return b.error();
      if (!print(*b) || b->records.empty() || b->next_offset > b->committed_offset) return Status::Ok();
      next = b->next_offset;
    }
  }

  Status Servers() {
    auto v = client_->Servers();
    if (!v.has_value()) return v.error();
    io_.out << (g_.json ? FormatServersJson(*v) + "\n" : FormatServersTable(*v));
    return Status::Ok();
  }

  Status Cluster(const std::string& sub, const ClusterFlags& f) {
    ClusterAdmin admin(*client_, Deadline());
    if (sub == "status") {
      auto st = admin.Status();
      if (!st.has_value()) return st.error();
      io_.out << (g_.json ? FormatClusterStatusJson(*st) + "\n" : FormatClusterStatusTable(*st));
      return Status::Ok();
    }
    if (sub == "transfer") {
      auto leader = admin.Transfer(f.id);
      if (!leader.has_value()) return leader.error();
      io_.out << (g_.json ? "{\"leader_id\":" + std::to_string(*leader) + "}"
                          : "member " + std::to_string(*leader) + " leads")
              << "\n";
      return Status::Ok();
    }
    auto members = admin.Remove(f.id);
    if (!members.has_value()) return members.error();
    std::string ids;
    for (const MemberInfo& m : *members) ids += (ids.empty() ? "" : ",") + std::to_string(m.id);
    io_.out << (g_.json ? "{\"removed\":" + std::to_string(f.id) + ",\"members\":[" + ids + "]}"
                        : "member " + std::to_string(f.id) + " removed; members now " + ids)
            << "\n";
    return Status::Ok();
  }

 private:
  Status ProduceBatch(const std::vector<Record>& records) {
    auto r = client_->Produce(records);
    if (!r.has_value()) return r.error();
    for (uint64_t offset : r->offsets) io_.out << (g_.json ? FormatOffsetJson(offset) : FormatOffsetHuman(offset)) << "\n";
    io_.out.flush();
    // With exactly-once (the default) the retry stored nothing twice.
    if (r->retried_after_unknown_outcome && r->producer_id == 0) {
      io_.err << "replog produce: warning: an attempt ended with an unknown outcome and was retried; "
                 "these records may also be in the log at earlier offsets\n";
    }
    return Status::Ok();
  }

  ConsumeOptions ReadOptions(const ConsumeFlags& f) const {
    ConsumeOptions o;
    o.max_records = f.max != 0 ? static_cast<uint32_t>(std::min<uint64_t>(f.max, f.batch)) : f.batch;
    o.linearizable = f.linearizable;
    o.read_from = f.leader ? ReadFrom::kLeader : ReadFrom::kFollower;
    o.address = f.member;
    return o;
  }

  const GlobalFlags& g_;
  const CliIo& io_;
  std::unique_ptr<Client> client_;
};

void AddProduce(CLI::App& app, ProduceFlags* f) {
  CLI::App* c = app.add_subcommand("produce", "append records; prints their offsets");
  c->add_option("values", f->values, "record values, one record each (none: each stdin line is a record)");
  c->add_option("--key", f->key, "key of every record");
  c->add_option("--header", f->headers, "header key=value of every record (repeatable)")->allow_extra_args(false);
  c->add_flag("--no-exactly-once", f->no_exactly_once,
              "send no producer id: a retry after an unknown outcome may store a batch twice");
  c->footer("Stdin lines are sent in batches of up to 1000 lines or 1 MiB, each batch committed together.");
}

void AddConsume(CLI::App& app, ConsumeFlags* f) {
  CLI::App* c = app.add_subcommand("consume", "print records from an offset");
  c->add_option("--from", f->from, "first offset (0: the first retained)")->capture_default_str();
  c->add_option("--max", f->max, "stop after this many records (0: no limit)")->capture_default_str();
  c->add_option("--batch", f->batch, "records per request")->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
  c->add_flag("--follow,-f", f->follow, "keep waiting for new records (tail)");
  c->add_flag("--linearizable", f->linearizable, "read the state as of now on the leader (ReadIndex)");
  auto* leader = c->add_flag("--leader", f->leader, "read from the leader (default: a follower)");
  c->add_option("--member", f->member, "read from this member only (host:port)")->excludes(leader);
  c->footer("Output: <offset> TAB <key> TAB <value> [TAB <hkey>=<hvalue>]... per record; --json: one object "
            "per line with offset, key, value, headers, timestamp_ms (bytes that are not UTF-8 in base64, "
            "with \"<field>_encoding\":\"base64\").");
}

CLI::App* AddCluster(CLI::App& app, ClusterFlags* f) {
  CLI::App* c = app.add_subcommand("cluster", "administer the members (status, leadership, membership)");
  c->require_subcommand(1);
  c->add_subcommand("status", "each member's role, term, commit and applied index, and the leader's view of "
                              "each follower's match index and lag");
  CLI::App* t = c->add_subcommand("transfer", "move leadership to member ID (none: the most up-to-date voter)");
  t->add_option("id", f->id, "member id")->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  CLI::App* l = c->add_subcommand("leave", "remove member ID from the cluster through Raft; it then stops");
  l->add_option("id", f->id, "member id")->required()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  return c;
}

// Parses argv into the flags; returns the exit code to stop with, or -1 to go on.
int Parse(CLI::App& app, int argc, const char* const* argv, const CliIo& io) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, io.out, io.err);
    return code == 0 ? 0 : 2;
  }
  return -1;
}

}  // namespace

std::string TlsHint(const common::Status& s, bool tls) {
  // A TLS member closes a plaintext connection during the handshake; gRPC
  // reports that as a closed socket, which alone says little.
  if (tls || s.code() != common::Code::kUnavailable || s.message().find("Socket closed") == std::string::npos) {
    return "";
  }
  return "replog: the members may require TLS: give --tls-ca, --tls-cert and --tls-key (or REPLOG_TLS_CA, "
         "REPLOG_TLS_CERT, REPLOG_TLS_KEY)\n";
}

int RunCli(int argc, const char* const* argv, const CliIo& io) {
  CLI::App app{"replog: produce to and consume from a replog cluster, and use its key-value store"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command
  GlobalFlags g;
  app.add_option("--addrs", g.addrs, "members to ask first, host:port,host:port,...")
      ->envname("REPLOG_ADDRS")
      ->capture_default_str();
  app.add_flag("--json", g.json, "JSON output, one object per line");
  app.add_option("--timeout", g.timeout_s, "seconds an operation may take, retries included")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_option("--tls-ca", g.tls.ca_file, "PEM file of the cluster's CA: connect with TLS")->envname("REPLOG_TLS_CA");
  app.add_option("--tls-cert", g.tls.cert_file, "PEM file of the client certificate (its subject CN is the principal)")
      ->envname("REPLOG_TLS_CERT");
  app.add_option("--tls-key", g.tls.key_file, "PEM file of the client certificate's key")->envname("REPLOG_TLS_KEY");
  ProduceFlags pf;
  ConsumeFlags cf;
  AddProduce(app, &pf);
  AddConsume(app, &cf);
  app.add_subcommand("servers", "list the members, their roles and the leader");
  ClusterFlags clf;
  CLI::App* cluster = AddCluster(app, &clf);
  KvFlags kvf;
  CLI::App* kv = AddKvCommand(app, &kvf);
  if (int code = Parse(app, argc, argv, io); code >= 0) return code;

  const std::string command = app.get_subcommands().front()->get_name();
  if (SplitAddresses(g.addrs).empty()) {
    io.err << "replog: --addrs names no address\n";
    return 2;
  }
  auto credentials = TlsCredentialsFromFiles(g.tls);
  if (!credentials.has_value()) {
    io.err << "replog: " << credentials.error().message() << "\n";
    return 2;
  }
  g.credentials = *credentials;
  if (command == "kv") {
    return RunKv(*kv, kvf, KvGlobals{SplitAddresses(g.addrs), g.json, DeadlineMs(g), g.credentials}, io);
  }
  std::vector<Header> headers;
  for (const std::string& h : pf.headers) {
    auto parsed = ParseHeader(h);
    if (!parsed.has_value()) {
      io.err << "replog produce: --header: " << parsed.error().message() << "\n";
      return 2;
    }
    headers.push_back(*parsed);
  }
  Runner runner(g, io);
  Status s = runner.Connect(!(command == "produce" && pf.no_exactly_once));
  if (s.ok()) {
    if (command == "produce") s = runner.Produce(pf, headers);
    else if (command == "consume") s = runner.Consume(cf);
    else if (command == "cluster") s = runner.Cluster(cluster->get_subcommands().front()->get_name(), clf);
    else s = runner.Servers();
  }
  if (s.ok()) return 0;
  const std::string full =
      command == "cluster" ? "cluster " + cluster->get_subcommands().front()->get_name() : command;
  io.err << "replog " << full << ": " << s.ToString() << "\n" << TlsHint(s, g.credentials != nullptr);
  return 1;
}

}  // namespace replog::cli
