/* One plugin run: open the image and the output, execute, clean up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* 1 when both paths exist and are the same file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static ms_status parse_address(const char *option, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno != 0 || *text == '\0' || *end != '\0' || *text == '-')
        return ms_fail(MS_ERR_ARG, "option --%s expects an address (decimal or 0x-hex), found '%s'", option, text);
    *out = v;
    return MS_OK;
}

/* Kernel discovery settings from the global options; the user's profile
 * directory and a --profiles directory are loaded on top of the built-in
 * profiles. */
static ms_status kernel_options(const cli_args *args, ms_kernel_options *opts, ms_profile_db **profiles)
{
    ms_kernel_options_init(opts);
    opts->ignore_header_hints = args->no_header_hints;
    ms_status st = MS_OK;
    if (args->dtb != NULL)
        st = parse_address("dtb", args->dtb, &opts->dtb);
    if (st == MS_OK && args->kernel_base != NULL)
        st = parse_address("kernel-base", args->kernel_base, &opts->kernel_base);
    if (st == MS_OK) {
        st = ms_profile_db_create(profiles);
        if (st == MS_OK)
            st = ms_profile_db_add_user_dir(*profiles);
        if (st == MS_OK && args->profiles_dir != NULL)
            st = ms_profile_db_add_dir(*profiles, args->profiles_dir);
        opts->profiles = *profiles;
    }
    return st;
}

static int failed(cli_term *term, const char *message)
{
    cli_progress_clear(term);
    cli_print_error(message);
    return CLI_EXIT_FAILURE;
}

int cli_run(const cli_args *args, cli_term *term)
{
    ms_render_format format;
    if (ms_render_format_parse(args->format_name, &format) != MS_OK) {
        cli_print_error(ms_last_error());
        return CLI_EXIT_USAGE;
    }

    ms_image_options opts;
    ms_image_options_init(&opts);
    if (args->no_index_cache)
        opts.gzip_cache_index = 0;
    opts.vmware_metadata = args->no_vmss ? MS_VMWARE_METADATA_NONE : args->vmss_path;
    ms_image *image;
    if (ms_image_open(args->image_path, &opts, &image) != MS_OK)
        return failed(term, ms_last_error());

    FILE *out = stdout;
    if (args->output_path != NULL && same_file(args->output_path, args->image_path)) {
        char msg[512];
        snprintf(msg, sizeof msg, "refusing to write the output over the image '%s'", args->image_path);
        ms_image_close(image);
        return failed(term, msg);
    }
    if (args->output_path != NULL) {
        out = fopen(args->output_path, "w");
        if (out == NULL) {
            char msg[512];
            snprintf(msg, sizeof msg, "cannot open '%s' for writing: %s", args->output_path, strerror(errno));
            ms_image_close(image);
            return failed(term, msg);
        }
    }

    ms_kernel_options kopts;
    ms_profile_db *profiles = NULL;
    ms_status st = kernel_options(args, &kopts, &profiles);
    ms_renderer *renderer = NULL;
    if (st == MS_OK)
        st = ms_renderer_create(format, out, &renderer);
    if (st == MS_OK) {
        ms_plugin_host host = {image, renderer, cli_log, cli_progress, term, &kopts};
        st = ms_plugin_execute(args->plugin, &host, args->options, args->noptions);
    }
    ms_profile_db_destroy(profiles);
    char reason[512];
    snprintf(reason, sizeof reason, "%s", ms_last_error());
    cli_progress_clear(term);
    ms_renderer_destroy(renderer);
    ms_image_close(image);

    if (out != stdout && fclose(out) != 0 && st == MS_OK) {
        snprintf(reason, sizeof reason, "cannot write '%s': %s", args->output_path, strerror(errno));
        st = MS_ERR_IO;
    }
    if (st != MS_OK)
        return failed(term, reason);
    return 0;
}
