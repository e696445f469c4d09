#include "dashboard/theme.h"

#include <QApplication>
#include <QEvent>
#include <QStyle>
#include <QStyleFactory>
#include <cmath>
#include <memory>

namespace kd::dashboard {
namespace {

constexpr int kDarkLightness = 128;  // HSL lightness below which a background reads as dark

// WCAG relative luminance.
double luminance(const QColor& c) {
  auto channel = [](double v) {
    return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF());
}

// Fusion honours the palette it is given; platform styles (GTK, Breeze) may draw their own.
void useFusion() {
  if (QApplication::style()->name().compare("fusion", Qt::CaseInsensitive) != 0)
    QApplication::setStyle(QStyleFactory::create("Fusion"));
}

}  // namespace

QString themeName(Theme theme) {
  switch (theme) {
    case Theme::Light:
      return QStringLiteral("light");
    case Theme::Dark:
      return QStringLiteral("dark");
    case Theme::System:
      break;
  }
  return QStringLiteral("system");
}

Theme themeFromName(const QString& name) {
  if (name == QLatin1String("light")) return Theme::Light;
  if (name == QLatin1String("dark")) return Theme::Dark;
  return Theme::System;
}

bool isDarkColor(const QColor& color) {
  return color.lightness() < kDarkLightness;
}

bool isDark(const QPalette& palette) {
  return isDarkColor(palette.color(QPalette::Window));
}

QPalette lightPalette() {
  std::unique_ptr<QStyle> fusion(QStyleFactory::create("Fusion"));
  return fusion->standardPalette();
}

QPalette darkPalette() {
  const QColor window(53, 53, 53), base(42, 42, 42), text(230, 230, 230);
  const QColor disabled(127, 127, 127), accent(42, 130, 218);
  QPalette p;
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, QColor(60, 60, 60));
  p.setColor(QPalette::ToolTipBase, window);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, disabled);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::white);
  p.setColor(QPalette::Link, accent.lighter(130));
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Light, window.lighter(150));
  p.setColor(QPalette::Midlight, window.lighter(125));
  p.setColor(QPalette::Mid, window.darker(120));
  p.setColor(QPalette::Dark, window.darker(150));
  p.setColor(QPalette::Shadow, Qt::black);
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, disabled);
  return p;
}

double contrastRatio(const QColor& a, const QColor& b) {
  const double la = luminance(a), lb = luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

ThemeController::ThemeController(QObject* parent)
    : QObject(parent),
      dark_(isDark(QApplication::palette())),
      platformStyle_(QApplication::style()->name()) {
  qApp->installEventFilter(this);
}

void ThemeController::setChoice(Theme theme) {
  choice_ = theme;
  switch (theme) {
    case Theme::Light:
      useFusion();
      QApplication::setPalette(lightPalette());
      break;
    case Theme::Dark:
      useFusion();
      QApplication::setPalette(darkPalette());
      break;
    case Theme::System:
      if (QApplication::style()->name().compare(platformStyle_, Qt::CaseInsensitive) != 0)
        QApplication::setStyle(platformStyle_);
      // An empty palette resolves against the platform's again, and follows it from now on.
      QApplication::setPalette(QPalette());
      break;
  }
  recheck();
}

bool ThemeController::eventFilter(QObject* watched, QEvent* event) {
  if (watched == qApp &&
      (event->type() == QEvent::ApplicationPaletteChange || event->type() == QEvent::ThemeChange)) {
    recheck();
  }
  return QObject::eventFilter(watched, event);
}

void ThemeController::recheck() {
  const bool dark = isDark(QApplication::palette());
  if (dark == dark_) return;
  dark_ = dark;
  emit darkChanged(dark_);
}

}  // namespace kd::dashboard
