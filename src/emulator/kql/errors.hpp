#pragma once
// Query errors: every failure of parsing or running a query is an xdr::Error with kind invalid_request
// (or timeout / cancelled) and one of the codes below, so the emulator can map it to the service's answer.

#include <string>
#include <string_view>

#include <emulator/kql/ast.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator::kql {

inline constexpr std::string_view k_code_syntax = "SyntaxError";
inline constexpr std::string_view k_code_semantic = "SemanticError";
inline constexpr std::string_view k_code_not_supported = "NotSupported";
inline constexpr std::string_view k_code_result_too_large = "ResultTooLarge";
inline constexpr std::string_view k_code_limit = "LimitExceeded";
inline constexpr std::string_view k_code_timeout = "Timeout";
inline constexpr std::string_view k_code_cancelled = "Cancelled";

// "line [L,C]" as the service writes positions.
std::string describe_pos(const Pos& pos);

// "Query could not be parsed at 'token' on line [1,12]".
Error syntax_error(std::string_view near, const Pos& pos, std::string_view detail = {});
// "Fix semantic errors in your query: <what> on line [L,C]".
Error semantic_error(std::string_view what, const Pos& pos);
// "not supported: <what> on line [L,C] (the emulator implements a subset of KQL)".
Error not_supported(std::string_view what, const Pos& pos);
// A resource limit (result size, query length, nesting, memory).
Error limit_error(std::string_view code, std::string message);

} // namespace xdr::emulator::kql
