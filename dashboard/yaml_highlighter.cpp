#include "dashboard/yaml_highlighter.h"

namespace kd::dashboard {
namespace {

QTextCharFormat charFormat(const QColor& color, bool bold = false, bool italic = false) {
  QTextCharFormat f;
  f.setForeground(color);
  if (bold) f.setFontWeight(QFont::Bold);
  f.setFontItalic(italic);
  return f;
}

}  // namespace

YamlHighlighter::YamlHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {
  // Later rules win where they overlap: comments last.
  rules_ = {
      {QRegularExpression(R"(^\s*(?:-\s+)?([^\s#:'"][^#:]*?|"[^"]*"|'[^']*')\s*:(?=\s|$))"),
       charFormat(QColor(0x1f, 0x4e, 0xa8), true), 1},
      {QRegularExpression(R"(:\s+(-?\d+(?:\.\d+)?|true|false|null|~)\s*(?:#.*)?$)"),
       charFormat(QColor(0x8e, 0x3c, 0xb2)), 1},
      {QRegularExpression(R"(("(?:[^"\\]|\\.)*"|'[^']*'))"), charFormat(QColor(0x2e, 0x7d, 0x32)),
       1},
      {QRegularExpression(R"(^(---|\.\.\.)\s*$)"), charFormat(QColor(0x99, 0x99, 0x99), true), 1},
      {QRegularExpression(R"((?:^|\s)(#.*)$)"), charFormat(QColor(0x80, 0x80, 0x80), false, true),
       1},
  };
}

void YamlHighlighter::highlightBlock(const QString& text) {
  for (const auto& rule : rules_) {
    for (auto it = rule.pattern.globalMatch(text); it.hasNext();) {
      const auto m = it.next();
      setFormat(static_cast<int>(m.capturedStart(rule.group)),
                static_cast<int>(m.capturedLength(rule.group)), rule.format);
    }
  }
}

}  // namespace kd::dashboard
