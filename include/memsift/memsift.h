/* memsift: umbrella header. */
#ifndef MEMSIFT_MEMSIFT_H
#define MEMSIFT_MEMSIFT_H

#define MEMSIFT_VERSION "0.1.0"

#include "memsift/error.h"
#include "memsift/image.h"
#include "memsift/paging.h"
#include "memsift/render.h"
#include "memsift/plugin.h"

#endif
