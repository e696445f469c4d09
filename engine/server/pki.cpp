#include "engine/server/pki.h"
