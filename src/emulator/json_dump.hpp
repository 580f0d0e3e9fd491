#pragma once
// Compact JSON serialization for the emulator's answers, byte for byte what nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes, at a fraction of its cost: nlohmann checks every
// byte of every string against its UTF-8 automaton, which made serialization half of the CPU of an incident
// page. Here ASCII strings are copied in runs and escaped directly; anything this writer does not format
// itself (a string with a byte >= 0x80, a floating-point number, binary) is handed to nlohmann, so invalid
// UTF-8 still becomes U+FFFD and numbers keep nlohmann's shortest round-trip form.

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <xdr/util/json.hpp>

namespace xdr::emulator {

namespace json_dump_detail {

// 0: copied as is; 1: escaped; 2: not ASCII (the string goes to nlohmann, which checks its UTF-8).
inline constexpr auto k_byte_class = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}();

// True when none of the 8 bytes of `w` needs attention (below 0x20, '"', '\\', or 0x80 and above). Each test
// is the exact "has a byte less than n" / "has a zero byte" word trick, so a word that passes has no such byte.
inline bool plain_word(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101u;
  constexpr uint64_t highs = 0x8080808080808080u;
  const uint64_t control = (w - ones * 0x20) & ~w & highs;
  const uint64_t q = w ^ (ones * '"');
  const uint64_t quote = (q - ones) & ~q & highs;
  const uint64_t b = w ^ (ones * '\\');
  const uint64_t backslash = (b - ones) & ~b & highs;
  return ((control | quote | backslash | (w & highs))) == 0;
}

template <class J>
void append_string(std::string_view s, std::string& out) {
  const size_t start = out.size();
  out += '"';
  size_t run = 0; // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    // Plain text (base64 tokens, ids, names) is skipped eight bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!plain_word(w)) break;
      i += 8;
    }
    if (i == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const unsigned char kind = k_byte_class[c];
    if (kind == 0) continue;
    if (kind == 2) {
      out.resize(start);
      out += J(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
      out.append(u, sizeof u);
    }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class T>
void append_integer(T v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

template <class J>
void append(const J& j, std::string& out) {
  using nlohmann::detail::value_t;
  switch (j.type()) {
  case value_t::null: out += "null"; return;
  case value_t::boolean: out += j.template get<bool>() ? "true" : "false"; return;
  case value_t::number_integer: append_integer(j.template get<typename J::number_integer_t>(), out); return;
  case value_t::number_unsigned: append_integer(j.template get<typename J::number_unsigned_t>(), out); return;
  case value_t::string: append_string<J>(j.template get_ref<const typename J::string_t&>(), out); return;
  case value_t::array: {
    out += '[';
    bool first = true;
    for (const auto& v : j) {
      if (!first) out += ',';
      first = false;
      append(v, out);
    }
    out += ']';
    return;
  }
  case value_t::object: {
    out += '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += ',';
      first = false;
      append_string<J>(it.key(), out);
      out += ':';
      append(it.value(), out);
    }
    out += '}';
    return;
  }
  default: // floating point, binary, discarded: nlohmann's own formatting
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
}

} // namespace json_dump_detail

// Compact JSON of `j`, equal to j.dump(-1, ' ', false, error_handler_t::replace): invalid UTF-8 becomes U+FFFD
// instead of throwing (the JSON may hold request bytes).
template <class J>
std::string dump_compact(const J& j) {
  std::string out;
  out.reserve(4096);
  json_dump_detail::append(j, out);
  return out;
}

} // namespace xdr::emulator
