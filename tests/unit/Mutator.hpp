#pragma once

// Deterministic mutations of valid inputs for the parser robustness tests:
// the same edits every run, so a failure reproduces.
#include <random>
#include <string>

namespace pier::test {

// Flips, inserts, deletes and duplicates bytes, biased towards the
// characters that structure the input.
class Mutator {
public:
  // structural: the characters mutations favour (those that structure the input).
  explicit Mutator(std::uint32_t seed, std::string structural = "{}[]\":,-=/.@_ \n\t\\0123456789abcdefsha:")
      : random_(seed), structural_(std::move(structural)) {}

  std::string mutate(std::string text) {
    int edits = 1 + static_cast<int>(random_() % 4);
    for (int i = 0; i < edits; ++i) {
      std::size_t at = text.empty() ? 0 : random_() % (text.size() + 1);
      switch (random_() % 5) {
      case 0:
        if (at < text.size()) text[at] = pick();
        break;
      case 1:
        text.insert(at, 1, pick());
        break;
      case 2:
        if (at < text.size()) text.erase(at, 1 + random_() % 8);
        break;
      case 3:
        if (at < text.size()) text.insert(at, text.substr(at, 1 + random_() % 16));
        break;
      default:
        text = text.substr(0, at);
        break;
      }
    }
    return text;
  }

private:
  char pick() {
    return random_() % 3 == 0 ? static_cast<char>(random_() % 256)
                              : structural_[random_() % structural_.size()];
  }
  std::mt19937 random_;
  std::string structural_;
};

} // namespace pier::test
