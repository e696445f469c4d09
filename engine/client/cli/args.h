#pragma once
// kdctl's command line: the verb words, positional arguments and flags, parsed the way kubectl
// (pflag) reads them: "--flag value", "--flag=value", "-n value", "-nvalue", "-n=value",
// boolean flags with an optional "=true|false", repeated flags, and "--" ending the flags.
// One flag table serves every verb; each verb reads the flags it understands.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

// Switch: "--x" is true, "--x=false" sets it. Value: "--x v" or "--x=v". InlineValue: like a
// switch when alone (taking `bareValue`), a value only through "=" ("--cascade=orphan").
enum class Arity { Switch, Value, InlineValue };

struct FlagSpec {
  std::string name;    // long name without dashes: "namespace"
  char shortName = 0;  // 'n', or 0
  Arity arity = Arity::Value;
  std::string bareValue = "true";  // what a Switch or InlineValue means when given alone
};

// Every flag kdctl knows, long and short.
const std::vector<FlagSpec>& knownFlags();

struct ParsedArgs {
  std::vector<std::string> words;  // non-flag arguments in order: verb, sub-verb, TYPE, NAME...
  // How many words came before a "--" (cobra's ArgsLenAtDash): words from there on are a
  // command to run, never flags. -1 when there was no "--".
  int argsLenAtDash = -1;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;  // by long name

  bool has(std::string_view flag) const { return flags.find(flag) != flags.end(); }
  // The last value given for `flag`, or `fallback`.
  std::string value(std::string_view flag, std::string_view fallback = {}) const;
  const std::vector<std::string>& values(std::string_view flag) const;
  // A boolean flag: absent -> fallback; "--x" or "--x=true" -> true; "--x=false" -> false.
  bool boolean(std::string_view flag, bool fallback = false) const;
};

// Parses argv (without the program name). Unknown flags and missing values are 400 errors
// whose message kubectl would print ("unknown flag: --foo").
Result<ParsedArgs> parseArgs(const std::vector<std::string>& argv,
                             const std::vector<FlagSpec>& spec = knownFlags());

// A Go duration as kubectl flags take it: "30s", "1m30s", "1.5h", "250ms", "0"; a bare
// number is seconds (--timeout=60 and --request-timeout accept it). 400 when malformed.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// Splits "a,b,c" (empty parts dropped).
std::vector<std::string> splitList(std::string_view text, char sep = ',');

}  // namespace kd::cli
