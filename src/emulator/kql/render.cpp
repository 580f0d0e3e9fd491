#include <emulator/kql/render.hpp>

namespace xdr::emulator::kql {

namespace {

nlohmann::ordered_json results_json(const QueryResult& result) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : result.rows) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < result.schema.size(); ++c) obj[result.schema[c].name] = to_json(row[c]);
    rows.push_back(std::move(obj));
  }
  return rows;
}

nlohmann::ordered_json schema_json(const QueryResult& result, const char* name_key, const char* type_key) {
  nlohmann::ordered_json schema = nlohmann::ordered_json::array();
  for (const auto& c : result.schema) {
    nlohmann::ordered_json col;
    col[name_key] = c.name;
    col[type_key] = std::string(type_name(c.type));
    schema.push_back(std::move(col));
  }
  return schema;
}

} // namespace

nlohmann::ordered_json to_defender_json(const QueryResult& result) {
  const double seconds = std::chrono::duration<double>(result.stats.execution_time).count();
  const std::string cpu = format_timespan(TimeSpan{result.stats.execution_time.count() / 100});
  nlohmann::ordered_json stats;
  stats["ExecutionTime"] = seconds;
  stats["resource_usage"] = {
      {"cache", {{"memory", {{"hits", 0}, {"misses", 0}, {"total", 0}}}, {"disk", {{"hits", 0}, {"misses", 0}, {"total", 0}}}}},
      {"cpu", {{"user", cpu}, {"kernel", "00:00:00"}, {"total cpu", cpu}}},
      {"memory", {{"peak_per_node", 0}}}};
  nlohmann::ordered_json datasets = nlohmann::ordered_json::array();
  datasets.push_back({{"table_row_count", result.rows.size()}, {"table_size", 0}});
  stats["dataset_statistics"] = std::move(datasets);
  nlohmann::ordered_json out;
  out["Stats"] = std::move(stats);
  out["Schema"] = schema_json(result, "Name", "Type");
  out["Results"] = results_json(result);
  return out;
}

nlohmann::ordered_json to_graph_json(const QueryResult& result) {
  nlohmann::ordered_json out;
  out["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults";
  out["schema"] = schema_json(result, "name", "type");
  out["results"] = results_json(result);
  return out;
}

} // namespace xdr::emulator::kql
