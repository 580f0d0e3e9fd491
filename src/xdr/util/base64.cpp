#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

#include <array>
#include <cstdint>

namespace xdr::util {
namespace {

constexpr std::string_view k_std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

std::array<int8_t, 256> make_table(std::string_view alphabet) {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) t[uint8_t(alphabet[i])] = int8_t(i);
  return t;
}

// Four characters per step into a pre-sized buffer: token validation decodes every JWT on its hot path.
std::optional<std::string> decode(std::string_view in, const std::array<int8_t, 256>& table) {
  if (in.size() % 4 == 1) return std::nullopt;
  const size_t full = in.size() / 4;
  const size_t rest = in.size() % 4; // 0, 2 or 3 characters -> 0, 1 or 2 bytes
  std::string out(full * 3 + (rest ? rest - 1 : 0), '\0');
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());
  char* dst = out.data();
  for (size_t g = 0; g < full; ++g, src += 4, dst += 3) {
    int32_t a = table[src[0]], b = table[src[1]], c = table[src[2]], d = table[src[3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    dst[0] = char(v >> 16);
    dst[1] = char(v >> 8);
    dst[2] = char(v);
  }
  if (rest) {
    int32_t a = table[src[0]], b = table[src[1]], c = rest == 3 ? table[src[2]] : 0;
    if ((a | b | c) < 0) return std::nullopt;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    // Leftover bits must be zero (canonical encoding).
    if ((rest == 2 && (v & 0xFFFF)) || (rest == 3 && (v & 0xFF))) return std::nullopt;
    dst[0] = char(v >> 16);
    if (rest == 3) dst[1] = char(v >> 8);
  }
  return out;
}

} // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, k_std, true); }

std::optional<std::string> base64_decode(std::string_view text) {
  static const auto table = make_table(k_std);
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  return decode(text, table);
}

std::string base64url_encode(std::string_view bytes) { return encode(bytes, k_url, false); }

std::optional<std::string> base64url_decode(std::string_view text) {
  static const auto table = make_table(k_url);
  return decode(text, table);
}

std::string hex_encode(std::string_view bytes, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  const auto val = hex_digit;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = val(text[i]), lo = val(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi * 16 + lo);
  }
  return out;
}

} // namespace xdr::util
