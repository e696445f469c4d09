#pragma once
// VtermScreen: a terminal screen emulated by libvterm, for the exec shell (TerminalView).
// Bytes from the remote program go in through write(); keys go in through key() and text(),
// and the bytes the terminal answers with (keys encoded as a terminal sends them, replies to
// the program's queries) come out through `onOutput`. Lines scrolled off the top are kept,
// the newest `scrollbackLines` of them.
//
// Rows are numbered from the top of the screen; rows -1, -2 ... are the scrollback, newest
// first. Not thread-safe: one thread (the GUI thread) owns it.

#include <vterm.h>

#include <QColor>
#include <QPoint>
#include <QRect>
#include <QString>
#include <deque>
#include <functional>
#include <string_view>
#include <vector>

namespace kd::dashboard {

class VtermScreen {
 public:
  struct Cell {
    QString text;   // empty for a blank cell and for the right half of a wide character
    QColor fg, bg;  // resolved to RGB; bg invalid where the default background shows
    bool bold = false, italic = false, underline = false, reverse = false;
    int width = 1;
  };

  VtermScreen(int rows, int cols, int scrollbackLines);
  ~VtermScreen();
  VtermScreen(const VtermScreen&) = delete;
  VtermScreen& operator=(const VtermScreen&) = delete;

  // Called with a damaged rectangle of cells (columns x, rows y) after each write().
  std::function<void(const QRect&)> onDamage;
  // Called with bytes for the remote program.
  std::function<void(std::string_view)> onOutput;

  // Feeds output of the remote program.
  void write(std::string_view bytes);
  void resize(int rows, int cols);
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int scrollbackSize() const { return int(scrollback_.size()); }

  void key(VTermKey key, VTermModifier mod);
  void character(char32_t c, VTermModifier mod);
  // Text pasted by the user (bracketed when the program asked for it).
  void paste(const QString& text);

  // The cell at `row` (negative: scrollback) and `col`; blank outside the screen.
  Cell cell(int row, int col) const;
  // The text of `row` from `fromCol` to `toCol` (exclusive), trailing blanks removed.
  QString lineText(int row, int fromCol = 0, int toCol = -1) const;
  QPoint cursor() const { return cursor_; }  // x: column, y: row
  bool cursorVisible() const { return cursorVisible_; }
  QColor defaultForeground() const { return defaultFg_; }
  QColor defaultBackground() const { return defaultBg_; }

 private:
  static int damage(VTermRect rect, void* user);
  static int moveCursor(VTermPos pos, VTermPos old, int visible, void* user);
  static int setTermProp(VTermProp prop, VTermValue* val, void* user);
  static int pushLine(int cols, const VTermScreenCell* cells, void* user);
  static int popLine(int cols, VTermScreenCell* cells, void* user);
  static void output(const char* s, size_t len, void* user);
  Cell toCell(VTermScreenCell c) const;
  QColor rgb(VTermColor c) const;

  VTerm* vt_;
  VTermScreen* screen_;
  int rows_, cols_;
  size_t scrollbackLimit_;
  std::deque<std::vector<VTermScreenCell>> scrollback_;  // front: the newest line
  QPoint cursor_;
  bool cursorVisible_ = true;
  QColor defaultFg_{0xd4, 0xd4, 0xd4}, defaultBg_{0x1e, 0x1e, 0x1e};
};

}  // namespace kd::dashboard
