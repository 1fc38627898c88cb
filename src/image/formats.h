/* Container format parsers.  Each fills the run map (and the dump header
 * where the format has one) from a byte source. */
#ifndef MS_IMAGE_FORMATS_H
#define MS_IMAGE_FORMATS_H

#include "memsift/image.h"
#include "runmap.h"
#include "source.h"

/* 1 when the source starts with PAGEDUMP or PAGEDU64. */
int ms_crashdump_detect(ms_source *src);
/* Parse a crash dump header and, for dump types holding memory, its page
 * map.  Triage and header-only dumps succeed with an empty map.  Encrypted
 * dumps fail with MS_ERR_UNSUPPORTED. */
ms_status ms_crashdump_parse(ms_source *src, ms_dump_header *hdr, ms_runmap *map);

/* 1 when the source starts with a LiME header. */
int ms_lime_detect(ms_source *src);
ms_status ms_lime_parse(ms_source *src, ms_runmap *map);

#endif
