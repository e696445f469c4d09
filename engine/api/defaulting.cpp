#include "engine/api/defaulting.h"
