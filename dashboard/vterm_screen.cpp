#include "dashboard/vterm_screen.h"

#include <algorithm>
#include <cstring>

namespace kd::dashboard {
namespace {

bool isBlank(const VTermScreenCell& c) {
  return c.chars[0] == 0 && VTERM_COLOR_IS_DEFAULT_BG(&c.bg) && !c.attrs.reverse;
}

VTermColor vtermColor(const QColor& c) {
  VTermColor v;
  vterm_color_rgb(&v, uint8_t(c.red()), uint8_t(c.green()), uint8_t(c.blue()));
  return v;
}

}  // namespace

VtermScreen::VtermScreen(int rows, int cols, int scrollbackLines)
    : vt_(vterm_new(std::max(rows, 1), std::max(cols, 1))),
      screen_(vterm_obtain_screen(vt_)),
      rows_(std::max(rows, 1)),
      cols_(std::max(cols, 1)),
      scrollbackLimit_(size_t(std::max(scrollbackLines, 0))) {
  vterm_set_utf8(vt_, 1);
  vterm_output_set_callback(vt_, &VtermScreen::output, this);
  static VTermScreenCallbacks cb = [] {
    VTermScreenCallbacks c{};
    c.damage = &VtermScreen::damage;
    c.movecursor = &VtermScreen::moveCursor;
    c.settermprop = &VtermScreen::setTermProp;
    c.sb_pushline = &VtermScreen::pushLine;
    c.sb_popline = &VtermScreen::popLine;
    return c;
  }();
  vterm_screen_set_callbacks(screen_, &cb, this);
  // Whole scrolled regions are reported as damage once per write, not cell by cell.
  vterm_screen_set_damage_merge(screen_, VTERM_DAMAGE_SCROLL);
  vterm_screen_enable_altscreen(screen_, 1);
  VTermState* state = vterm_obtain_state(vt_);
  const VTermColor fg = vtermColor(defaultFg_), bg = vtermColor(defaultBg_);
  vterm_state_set_default_colors(state, &fg, &bg);
  vterm_state_set_bold_highbright(state, 1);
  vterm_screen_reset(screen_, 1);
}

VtermScreen::~VtermScreen() {
  vterm_free(vt_);
}

void VtermScreen::write(std::string_view bytes) {
  vterm_input_write(vt_, bytes.data(), bytes.size());
  vterm_screen_flush_damage(screen_);
}

void VtermScreen::resize(int rows, int cols) {
  rows_ = std::max(rows, 1);
  cols_ = std::max(cols, 1);
  vterm_set_size(vt_, rows_, cols_);
  vterm_screen_flush_damage(screen_);
}

void VtermScreen::key(VTermKey key, VTermModifier mod) {
  vterm_keyboard_key(vt_, key, mod);
}

void VtermScreen::character(char32_t c, VTermModifier mod) {
  vterm_keyboard_unichar(vt_, uint32_t(c), mod);
}

void VtermScreen::paste(const QString& text) {
  vterm_keyboard_start_paste(vt_);
  for (char32_t c : text.toUcs4()) {
    if (c == '\n') c = '\r';  // a terminal's Enter
    vterm_keyboard_unichar(vt_, uint32_t(c), VTERM_MOD_NONE);
  }
  vterm_keyboard_end_paste(vt_);
}

VtermScreen::Cell VtermScreen::cell(int row, int col) const {
  VTermScreenCell c;
  std::memset(&c, 0, sizeof c);
  c.width = 1;
  c.fg.type = VTERM_COLOR_DEFAULT_FG;
  c.bg.type = VTERM_COLOR_DEFAULT_BG;
  if (row >= 0 && row < rows_ && col >= 0 && col < cols_) {
    vterm_screen_get_cell(screen_, VTermPos{row, col}, &c);
  } else if (row < 0 && -row <= scrollbackSize() && col >= 0) {
    const auto& line = scrollback_[size_t(-row - 1)];
    if (size_t(col) < line.size()) c = line[size_t(col)];
  }
  return toCell(c);
}

QString VtermScreen::lineText(int row, int fromCol, int toCol) const {
  QString text;
  const int end = toCol < 0 ? cols_ : std::min(toCol, cols_);
  for (int col = std::max(fromCol, 0); col < end; ++col) {
    const Cell c = cell(row, col);
    if (c.width == 0) continue;  // the right half of a wide character
    text += c.text.isEmpty() ? QStringLiteral(" ") : c.text;
  }
  while (text.endsWith(' ')) text.chop(1);
  return text;
}

VtermScreen::Cell VtermScreen::toCell(VTermScreenCell c) const {
  Cell out;
  for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && c.chars[i]; ++i) {
    const char32_t ch = c.chars[i];
    out.text += QString::fromUcs4(&ch, 1);
  }
  out.width = c.width;
  out.fg = VTERM_COLOR_IS_DEFAULT_FG(&c.fg) ? defaultFg_ : rgb(c.fg);
  if (!VTERM_COLOR_IS_DEFAULT_BG(&c.bg)) out.bg = rgb(c.bg);
  out.bold = c.attrs.bold;
  out.italic = c.attrs.italic;
  out.underline = c.attrs.underline != VTERM_UNDERLINE_OFF;
  out.reverse = c.attrs.reverse;
  return out;
}

QColor VtermScreen::rgb(VTermColor c) const {
  vterm_screen_convert_color_to_rgb(screen_, &c);
  return QColor(c.rgb.red, c.rgb.green, c.rgb.blue);
}

int VtermScreen::damage(VTermRect r, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  if (self->onDamage) {
    self->onDamage(
        QRect(r.start_col, r.start_row, r.end_col - r.start_col, r.end_row - r.start_row));
  }
  return 1;
}

int VtermScreen::moveCursor(VTermPos pos, VTermPos old, int visible, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  self->cursor_ = QPoint(pos.col, pos.row);
  self->cursorVisible_ = visible;
  if (self->onDamage) {
    self->onDamage(QRect(old.col, old.row, 1, 1));
    self->onDamage(QRect(pos.col, pos.row, 1, 1));
  }
  return 1;
}

int VtermScreen::setTermProp(VTermProp prop, VTermValue* val, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  if (prop == VTERM_PROP_CURSORVISIBLE) self->cursorVisible_ = val->boolean;
  return 1;
}

int VtermScreen::pushLine(int cols, const VTermScreenCell* cells, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  if (self->scrollbackLimit_ == 0) return 0;
  int used = cols;
  while (used > 0 && isBlank(cells[used - 1])) --used;  // blank tails cost no memory
  self->scrollback_.emplace_front(cells, cells + used);
  if (self->scrollback_.size() > self->scrollbackLimit_) self->scrollback_.pop_back();
  return 1;
}

// The screen grew taller: its top rows come back from the scrollback.
int VtermScreen::popLine(int cols, VTermScreenCell* cells, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  if (self->scrollback_.empty()) return 0;
  const auto& line = self->scrollback_.front();
  VTermScreenCell blank;
  std::memset(&blank, 0, sizeof blank);
  blank.width = 1;
  vterm_state_get_default_colors(vterm_obtain_state(self->vt_), &blank.fg, &blank.bg);
  for (int i = 0; i < cols; ++i) cells[i] = size_t(i) < line.size() ? line[size_t(i)] : blank;
  self->scrollback_.pop_front();
  return 1;
}

void VtermScreen::output(const char* s, size_t len, void* user) {
  auto* self = static_cast<VtermScreen*>(user);
  if (self->onOutput) self->onOutput(std::string_view(s, len));
}

}  // namespace kd::dashboard
