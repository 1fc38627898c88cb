/* ms_plugin_execute: check the plugin's requirements and options against
 * the image, then run it with the renderer. */
#include "context.h"

#include <stdio.h>
#include <string.h>

static const char *article(const char *word)
{
    return word[0] != '\0' && strchr("aeiouAEIOU", word[0]) != NULL ? "an" : "a";
}

static ms_status check_architecture(const ms_plugin *p, const ms_image_info *info)
{
    const ms_dump_header *h = &info->header;
    if (!h->has_header || h->machine_type == MS_MACHINE_I386 || h->machine_type == MS_MACHINE_AMD64)
        return MS_OK;
    const char *machine = ms_machine_name(h->machine_type);
    if (h->machine_type == MS_MACHINE_ARM64)
        return ms_fail(MS_ERR_UNSUPPORTED, "%s supports x86 and x64 Windows; this dump is from %s %s machine", p->name,
                       article(machine), machine);
    return ms_fail(MS_ERR_UNSUPPORTED,
                   "%s supports x86 and x64 Windows; this dump is from a machine of unknown type 0x%04x", p->name,
                   (unsigned)h->machine_type);
}

static ms_status check_memory(const ms_plugin *p, const ms_image_info *info)
{
    const ms_dump_header *h = &info->header;
    if (info->has_physical_memory)
        return MS_OK;
    if (!h->has_header)
        return ms_fail(MS_ERR_UNSUPPORTED, "%s needs physical memory, but the %s image holds none", p->name,
                       ms_image_format_name(info->format));
    const char *type = ms_dump_type_name(h->dump_type);
    switch (h->dump_type) {
    case MS_DUMP_TRIAGE:
        return ms_fail(MS_ERR_UNSUPPORTED,
                       "%s needs physical memory, but this is a triage dump (DumpType %u): it holds only the dump "
                       "header, the module list and a few memory blocks",
                       p->name, (unsigned)h->dump_type);
    case MS_DUMP_HEADER:
        return ms_fail(MS_ERR_UNSUPPORTED,
                       "%s needs physical memory, but this is a header-only dump (DumpType %u): it holds only the "
                       "dump header",
                       p->name, (unsigned)h->dump_type);
    default:
        return ms_fail(MS_ERR_UNSUPPORTED, "%s needs physical memory, but this %s dump (DumpType %u) holds no pages",
                       p->name, type, (unsigned)h->dump_type);
    }
}

static const ms_option_spec *find_spec(const ms_plugin *p, const char *name)
{
    for (size_t i = 0; i < p->noptions; i++)
        if (p->options[i].name != NULL && strcmp(p->options[i].name, name) == 0)
            return &p->options[i];
    return NULL;
}

static ms_status check_options(const ms_plugin *p, const ms_option_value *options, size_t noptions)
{
    if (options == NULL && noptions > 0)
        return ms_fail(MS_ERR_ARG, "ms_plugin_execute was given %zu options but no array", noptions);
    for (size_t i = 0; i < noptions; i++) {
        const ms_option_value *o = &options[i];
        if (o->name == NULL)
            return ms_fail(MS_ERR_ARG, "option %zu given to %s has no name", i, p->name);
        const ms_option_spec *spec = find_spec(p, o->name);
        if (spec == NULL)
            return ms_fail(MS_ERR_ARG, "%s has no option --%s", p->name, o->name);
        if (spec->type != MS_OPT_FLAG && o->value == NULL)
            return ms_fail(MS_ERR_ARG, "option --%s of %s needs a value", o->name, p->name);
        int64_t n;
        if (spec->type == MS_OPT_INT && !ms_plugin_parse_int(o->value, &n))
            return ms_fail(MS_ERR_ARG, "option --%s of %s expects a number (decimal or 0x-hex), found '%s'", o->name,
                           p->name, o->value);
    }
    return MS_OK;
}

ms_status ms_plugin_execute(const ms_plugin *plugin, const ms_plugin_host *host, const ms_option_value *options,
                            size_t noptions)
{
    if (plugin == NULL || plugin->name == NULL || plugin->run == NULL || host == NULL || host->image == NULL ||
        host->renderer == NULL)
        return ms_fail(MS_ERR_ARG, "ms_plugin_execute needs a plugin with a name and run(), an image and a renderer");
    if (plugin->columns == NULL && plugin->ncolumns > 0)
        return ms_fail(MS_ERR_ARG, "%s declares %zu columns but no column array", plugin->name, plugin->ncolumns);
    const ms_image_info *info = ms_image_get_info(host->image);
    ms_status st = MS_OK;
    if (plugin->requirements & MS_PLUGIN_NEEDS_X86)
        st = check_architecture(plugin, info);
    if (st == MS_OK && (plugin->requirements & MS_PLUGIN_NEEDS_MEMORY))
        st = check_memory(plugin, info);
    if (st == MS_OK)
        st = check_options(plugin, options, noptions);
    if (st != MS_OK)
        return st;

    ms_plugin_context ctx = {plugin, host, options, noptions, 0, NULL, MS_OK, ""};
    ms_clear_error();
    st = plugin->run(&ctx);
    ms_kernel_close(ctx.kernel);
    if (st != MS_OK) {
        if (ms_last_error()[0] == '\0')
            ms_fail(st, "%s failed: %s", plugin->name, ms_status_name(st));
        /* Close what was emitted so the document stays well-formed, but
         * keep the plugin's status and message. */
        if (ctx.begun) {
            char saved[512];
            snprintf(saved, sizeof saved, "%s", ms_last_error());
            ms_renderer_end(host->renderer);
            ms_fail(st, "%s", saved);
        }
        return st;
    }
    st = ms_plugin_begin_output(&ctx);
    if (st != MS_OK)
        return st;
    return ms_renderer_end(host->renderer);
}
