#include "caliper_sessiond/caliper/parser.hpp"

namespace caliper_sessiond::caliper {

struct envelope_parser::impl {
  parse_limits limits;
};

envelope_parser::envelope_parser(parse_limits limits) : impl_(std::make_unique<impl>(impl{limits})) {}
envelope_parser::~envelope_parser() = default;
envelope_parser::envelope_parser(envelope_parser&&) noexcept = default;
envelope_parser& envelope_parser::operator=(envelope_parser&&) noexcept = default;

parse_result envelope_parser::parse(std::string&, std::string_view) {
  parse_result r;
  r.error = envelope_error{400, "Not implemented", "the parser is not written yet"};
  return r;
}

}  // namespace caliper_sessiond::caliper
