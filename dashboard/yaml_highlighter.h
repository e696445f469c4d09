#pragma once
// YAML syntax highlighting for the manifest editor: keys, strings, numbers and booleans,
// comments and document separators, each from one rule table.

#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <vector>

namespace kd::dashboard {

class YamlHighlighter : public QSyntaxHighlighter {
  Q_OBJECT

 public:
  explicit YamlHighlighter(QTextDocument* document);

 protected:
  void highlightBlock(const QString& text) override;

 private:
  struct Rule {
    QRegularExpression pattern;
    QTextCharFormat format;
    int group;  // the capture group to colour
  };
  std::vector<Rule> rules_;
};

}  // namespace kd::dashboard
