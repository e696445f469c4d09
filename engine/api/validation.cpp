#include "engine/api/validation.h"
