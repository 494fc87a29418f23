/* steps.c — parse de-identification options, build the engine. */
#include "cli/steps.h"
#include "cli/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int steps_take(const dqr_command *self, steps *s, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "--script") == 0 || strcmp(a, "--profile") == 0) {
        if (!val)
            return cli_usage_error(self, "%s needs a value", a), -1;
        if (s->n == STEPS_MAX)
            return cli_usage_error(self, "at most %d scripts and profiles", STEPS_MAX), -1;
        size_t n = strlen(val) + 3;
        if (!(s->items[s->n] = malloc(n)))
            return -1;
        snprintf(s->items[s->n++], n, "%c:%s", a[2], val);
    } else if (strcmp(a, "--var") == 0) {
        if (!val || !strchr(val, '=') || val[0] == '=')
            return cli_usage_error(self, "--var needs NAME=VALUE"), -1;
        if (s->nvars == STEPS_MAX_VARS)
            return cli_usage_error(self, "at most %d variables", STEPS_MAX_VARS), -1;
        s->vars[s->nvars++] = val;
    } else if (strcmp(a, "--pixel-rules") == 0) {
        if (!val)
            return cli_usage_error(self, "--pixel-rules needs a file"), -1;
        s->pixel_rules_path = val;
    } else if (strcmp(a, "--ocr") == 0 || strcmp(a, "--ocr-policy") == 0 || strcmp(a, "--ocr-whitelist") == 0) {
        if (steps_ocr_option(self, s, a, val) < 0)
            return -1;
    } else if (strcmp(a, "--uid-secret") == 0 || strcmp(a, "--lookup") == 0) {
        if (!val)
            return cli_usage_error(self, "%s needs a file", a), -1;
        *(a[2] == 'u' ? &s->secret : &s->lookup) = val;
    } else {
        return 0;
    }
    ++*i;
    return 1;
}

int steps_build(steps *s)
{
    anon_settings set = {.lookup_path = s->lookup};
    if (secret_load(s->secret, set.uid_secret) != 0)
        return -1;
    dqr_error err = {0};
    if (!(s->engine = anon_engine_new(&set, &err))) {
        cli_error("%s", err.message);
        return -1;
    }
    for (size_t i = 0; i < s->n && !err.code; i++) {
        const char *arg = s->items[i] + 2;
        if (s->items[i][0] == 's') {
            if ((s->scripts[i] = anon_script_load(arg, &err)))
                anon_engine_add_script(s->engine, s->scripts[i], &err);
        } else if ((s->profiles[i] = anon_profile_parse(arg, &err))) {
            anon_engine_add_profile(s->engine, s->profiles[i], &err);
        }
    }
    if (!err.code && s->pixel_rules_path)
        s->pixel_rules = anon_pixel_rules_load(s->pixel_rules_path, &err);
    if (err.code) {
        cli_error("%s", err.message);
        return -1;
    }
    return steps_ocr_start(s);
}

int steps_match_pixels(const steps *s, const dcm_dataset *ds, px_edit **matched, dqr_error *err)
{
    const anon_pixel_rules *rules[1] = {s->pixel_rules};
    return anon_pixel_rules_regions(rules, 1, ds, matched, err) == DQR_OK ? 0 : -1;
}

int steps_clean_pixels(const anon_session *ss, const px_edit *matched, dcm_file *f, size_t *regions,
                       dqr_error *err)
{
    return anon_clean_pixels(f, ss, matched, regions, err) == DQR_OK ? 0 : -1;
}

static void print_echo(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

anon_session *steps_session(const steps *s)
{
    dqr_error err = {0};
    anon_session *ss = anon_session_new(s->engine, &err);
    for (size_t i = 0; ss && i < s->nvars; i++) {
        const char *eq = strchr(s->vars[i], '=');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - s->vars[i]), s->vars[i]);
        anon_session_set_var(ss, name, eq + 1, &err);
    }
    if (ss)
        anon_session_on_echo(ss, print_echo, NULL);
    return ss;
}

void steps_free(steps *s)
{
    steps_ocr_free(s);
    anon_engine_free(s->engine);
    anon_pixel_rules_free(s->pixel_rules);
    for (size_t i = 0; i < s->n; i++) {
        anon_script_free(s->scripts[i]);
        anon_profile_free(s->profiles[i]);
        free(s->items[i]);
    }
    memset(s, 0, sizeof *s);
}

anon_result steps_run(const steps *st, anon_session *s, dcm_file **f, int *px, unsigned *frames, size_t *words,
                      dqr_error *err)
{
    px_edit *matched = NULL; /* the pixel rules see the file as read, before the scripts */
    anon_result r = !s || steps_match_pixels(st, dcm_file_dataset(*f), &matched, err) != 0
                        ? ANON_FAILED
                        : anon_session_apply(s, dcm_file_dataset(*f), err);
    size_t regions = 0;
    if (r == ANON_OK && steps_clean_pixels(s, matched, *f, &regions, err) != 0)
        r = ANON_FAILED; /* pixels that cannot be cleaned are not written */
    px_edit_free(matched);
    *px = r == ANON_OK ? steps_check_pixels(st, f, regions > 0, frames, words, err) : 0;
    return *px < 0 ? ANON_FAILED : r;
}
