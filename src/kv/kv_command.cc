#include "kv/kv_command.h"

#include "common/coding.h"

namespace kv {

using common::Result;
using common::Status;

namespace {

constexpr uint8_t kCommandVersion = 1;

Status Malformed(std::string_view what) { return common::DataLossError("kv command: " + std::string(what)); }

void PutBytes(std::string* out, std::string_view b) {
  common::PutFixed32(out, static_cast<uint32_t>(b.size()));
  out->append(b);
}

bool GetBytes(std::string_view* in, std::string* b) {
  uint32_t n = 0;
  if (!common::GetFixed32(in, &n) || in->size() < n) return false;
  b->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

bool GetByte(std::string_view* in, uint8_t* b) {
  if (in->empty()) return false;
  *b = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return true;
}

void PutValue(std::string* out, const KvValue& v) {
  PutBytes(out, v.value);
  common::PutFixed64(out, v.create_revision);
  common::PutFixed64(out, v.mod_revision);
  common::PutFixed64(out, v.version);
}

bool GetValue(std::string_view* in, KvValue* v) {
  return GetBytes(in, &v->value) && common::GetFixed64(in, &v->create_revision) &&
         common::GetFixed64(in, &v->mod_revision) && common::GetFixed64(in, &v->version);
}

}  // namespace

Status ValidateCommand(const KvCommand& c, const KvLimits& limits) {
  if (c.key.empty()) return common::InvalidArgumentError("the key is empty");
  if (c.key.size() > limits.max_key_bytes) {
    return common::InvalidArgumentError("the key is " + std::to_string(c.key.size()) + " bytes; at most " +
                                        std::to_string(limits.max_key_bytes) + " are allowed");
  }
  if (c.value.size() > limits.max_value_bytes) {
    return common::InvalidArgumentError("the value is " + std::to_string(c.value.size()) + " bytes; at most " +
                                        std::to_string(limits.max_value_bytes) + " are allowed");
  }
  if (c.client_id == 0 && c.sequence != 0) {
    return common::InvalidArgumentError("a sequence number needs a client id");
  }
  if (c.op != KvOp::kPut && c.op != KvOp::kDelete && c.op != KvOp::kCas) {
    return common::InvalidArgumentError("unknown operation " + std::to_string(static_cast<int>(c.op)));
  }
  if (c.op == KvOp::kCas && c.compare.kind != KvCompare::Kind::kValue &&
      c.compare.kind != KvCompare::Kind::kModRevision) {
    return common::InvalidArgumentError("unknown compare kind " + std::to_string(static_cast<int>(c.compare.kind)));
  }
  return Status::Ok();
}

std::string EncodeCommand(const KvCommand& c) {
  std::string out;
  out.reserve(32 + c.key.size() + c.value.size() + c.compare.value.size());
  out.push_back(static_cast<char>(kCommandVersion));
  out.push_back(static_cast<char>(c.op));
  common::PutFixed64(&out, c.client_id);
  common::PutFixed64(&out, c.sequence);
  PutBytes(&out, c.key);
  switch (c.op) {
    case KvOp::kPut:
      PutBytes(&out, c.value);
      break;
    case KvOp::kDelete:
      break;
    case KvOp::kCas:
      out.push_back(static_cast<char>(c.compare.kind));
      if (c.compare.kind == KvCompare::Kind::kValue) {
        PutBytes(&out, c.compare.value);
      } else {
        common::PutFixed64(&out, c.compare.mod_revision);
      }
      out.push_back(c.cas_delete ? 1 : 0);
      if (!c.cas_delete) PutBytes(&out, c.value);
      break;
  }
  return out;
}

Result<KvCommand> DecodeCommand(std::string_view in) {
  KvCommand c;
  uint8_t version = 0, op = 0;
  if (!GetByte(&in, &version)) return Malformed("empty");
  if (version != kCommandVersion) return Malformed("unknown version " + std::to_string(version));
  if (!GetByte(&in, &op) || !common::GetFixed64(&in, &c.client_id) || !common::GetFixed64(&in, &c.sequence) ||
      !GetBytes(&in, &c.key)) {
    return Malformed("truncated header");
  }
  c.op = static_cast<KvOp>(op);
  switch (c.op) {
    case KvOp::kPut:
      if (!GetBytes(&in, &c.value)) return Malformed("truncated put value");
      break;
    case KvOp::kDelete:
      break;
    case KvOp::kCas: {
      uint8_t kind = 0, del = 0;
      if (!GetByte(&in, &kind)) return Malformed("truncated compare");
      c.compare.kind = static_cast<KvCompare::Kind>(kind);
      if (c.compare.kind == KvCompare::Kind::kValue) {
        if (!GetBytes(&in, &c.compare.value)) return Malformed("truncated compare value");
      } else if (c.compare.kind == KvCompare::Kind::kModRevision) {
        if (!common::GetFixed64(&in, &c.compare.mod_revision)) return Malformed("truncated compare revision");
      } else {
        return Malformed("unknown compare kind " + std::to_string(kind));
      }
      if (!GetByte(&in, &del) || del > 1) return Malformed("bad cas action");
      c.cas_delete = del == 1;
      if (!c.cas_delete && !GetBytes(&in, &c.value)) return Malformed("truncated cas value");
      break;
    }
    default:
      return Malformed("unknown op " + std::to_string(op));
  }
  if (!in.empty()) return Malformed(std::to_string(in.size()) + " trailing bytes");
  return c;
}

std::string EncodeResult(const KvResult& r) {
  std::string out;
  out.push_back(static_cast<char>(r.code));
  common::PutFixed64(&out, r.revision);
  out.push_back(r.previous.has_value() ? 1 : 0);
  if (r.previous.has_value()) PutValue(&out, *r.previous);
  common::PutFixed64(&out, r.expected_sequence);
  return out;
}

Result<KvResult> DecodeResult(std::string_view in) {
  KvResult r;
  uint8_t code = 0, has_previous = 0;
  if (!GetByte(&in, &code) || code > static_cast<uint8_t>(KvResultCode::kMalformed) ||
      !common::GetFixed64(&in, &r.revision) || !GetByte(&in, &has_previous) || has_previous > 1) {
    return common::DataLossError("kv result: malformed header");
  }
  r.code = static_cast<KvResultCode>(code);
  if (has_previous == 1) {
    r.previous.emplace();
    if (!GetValue(&in, &*r.previous)) return common::DataLossError("kv result: truncated previous value");
  }
  if (!common::GetFixed64(&in, &r.expected_sequence) || !in.empty()) {
    return common::DataLossError("kv result: malformed trailer");
  }
  return r;
}

}  // namespace kv
