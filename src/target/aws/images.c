// images.c: framework + version + py_version + instance type → the image URI
// that the SageMaker Python SDK v2's `image_uris.retrieve` returns, offline,
// from share/smflow/image_uris/*.json (an extract of the SDK's
// image_uri_config; see the PROVENANCE file there). The steps follow
// retrieve(): scope, version aliases, the HuggingFace base framework, the
// Python version, the region's registry account, the processor of the instance
// type, container_version and tag_prefix, then "-".join of the tag parts.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/util.h"
#include "target/aws/awst.h"

const char *awst_share_dir(const char *share_dir)
{
  return smf_share_dir(share_dir, "image_uris/pytorch.json");
}

const char *awst_dns_suffix(const char *region)
{
  if (smf_str_startswith(region, "cn-")) {
    return "amazonaws.com.cn";
  }
  if (smf_str_startswith(region, "us-isob-")) {
    return "sc2s.sgov.gov";
  }
  if (smf_str_startswith(region, "us-isof-")) {
    return "csp.hci.ic.gov";
  }
  if (smf_str_startswith(region, "us-iso-")) {
    return "c2s.ic.gov";
  }
  return "amazonaws.com";
}

// ", ".join of an object's keys (and of a second object's, if any).
static char *img_keys(const json_t *a, const json_t *b)
{
  struct smf_buf buf = {0};
  const json_t *objs[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)objs[i], k, v)
    {
      (void)v;
      if (strcmp(k, "version_aliases") == 0) {
        continue;
      }
      smf_buf_printf(&buf, "%s%s", buf.len ? ", " : "", k);
    }
  }
  return smf_buf_steal(&buf);
}

static char *img_list(const json_t *arr)
{
  struct smf_buf buf = {0};
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    smf_buf_printf(&buf, "%s%s", i ? ", " : "", json_string_value(v));
  }
  return smf_buf_steal(&buf);
}

static bool img_in(const json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (s && json_string_value(v) && strcmp(json_string_value(v), s) == 0) {
      return true;
    }
  }
  return false;
}

// The SDK's get_instance_type_family: "ml.p4d.24xlarge" → "p4d".
static void img_family(const char *itype, char *out, size_t n)
{
  out[0] = '\0';
  if (itype == NULL || !(smf_str_startswith(itype, "ml.") || smf_str_startswith(itype, "ml_"))) {
    return;
  }
  const char *s = itype + 3;
  size_t len = strcspn(s, ".");
  snprintf(out, n, "%.*s", (int)len, s);
}

// The SDK's _processor(): NULL processor when the image has none.
static int img_processor(const char *itype, const json_t *avail, const char **out,
                         struct smf_error *err)
{
  *out = NULL;
  if (avail == NULL || json_array_size(avail) == 0) {
    return 0;
  }
  if (json_array_size(avail) == 1 && itype == NULL) {
    *out = json_string_value(json_array_get(avail, 0));
    return 0;
  }
  if (itype == NULL) {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "an instance_type is needed to choose the image");
  }
  char fam[64];
  img_family(itype, fam, sizeof(fam));
  const char *p;
  if (smf_str_startswith(itype, "local")) {
    p = strcmp(itype, "local") == 0 ? "cpu" : "gpu";
  } else if (fam[0] == '\0') {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "invalid SageMaker instance type: %s", itype);
  } else if (img_in(avail, fam)) {
    p = json_string_value(json_array_get(avail, 0));
    for (size_t i = 0; i < json_array_size(avail); i++) {
      if (strcmp(json_string_value(json_array_get(avail, i)), fam) == 0) {
        p = json_string_value(json_array_get(avail, i));
      }
    }
  } else if (smf_str_startswith(fam, "inf")) {
    p = "inf";
  } else if (smf_str_startswith(fam, "trn")) {
    p = "trn";
  } else {
    p = fam[0] == 'g' || fam[0] == 'p' ? "gpu" : "cpu";
  }
  if (!img_in(avail, p)) {
    char *l = img_list(avail);
    SMF_ERR_SET(err, SMF_EVALIDATE, "unsupported processor: %s (instance type %s). Supported: %s",
                p, itype, l);
    free(l);
    return SMF_EVALIDATE;
  }
  for (size_t i = 0; i < json_array_size(avail); i++) {
    if (strcmp(json_string_value(json_array_get(avail, i)), p) == 0) {
      *out = json_string_value(json_array_get(avail, i));
    }
  }
  return 0;
}

// The version config (resolving aliases); *version may become the only version.
static const json_t *img_version(const json_t *cfg, const char *fw, const char **version,
                                 struct smf_error *err)
{
  const json_t *versions = json_object_get(cfg, "versions");
  const json_t *aliases = json_object_get(cfg, "version_aliases");
  const char *v = *version;
  if (json_object_size(versions) == 1 && (v == NULL || !json_object_get(aliases, v))) {
    const char *only = json_object_iter_key(json_object_iter((json_t *)versions));
    *version = only;
    return json_object_get(versions, only);
  }
  const char *key = v ? json_string_value(json_object_get(aliases, v)) : NULL;
  const json_t *vc = json_object_get(versions, key ? key : v ? v : "");
  if (v == NULL || vc == NULL) {
    char *l = img_keys(aliases, versions);
    SMF_ERR_SET(err, SMF_EVALIDATE, "unsupported %s version: %s. Supported %s versions: %s", fw,
                v ? v : "(none)", fw, l);
    free(l);
    return NULL;
  }
  return vc;
}

// HuggingFace: the one base framework of the transformers version (see docs).
static const json_t *img_hf_base(const json_t *vc, const char *version, const char **base,
                                 struct smf_error *err)
{
  const char *k, *found = NULL;
  json_t *v;
  int n = 0;
  json_object_foreach((json_t *)vc, k, v)
  {
    if (strcmp(k, "version_aliases") != 0 && smf_str_startswith(k, "pytorch")) {
      found = k;
      n++;
    }
  }
  if (n != 1) {
    char *l = img_keys(vc, NULL);
    SMF_ERR_SET(err, SMF_EVALIDATE,
                "huggingface %s: %s PyTorch base versions (%s); smflow picks the base only when "
                "there is exactly one: set image_uri instead",
                version, n ? "several" : "no", l);
    free(l);
    return NULL;
  }
  *base = found;
  return json_object_get(vc, found);
}

// Python version level: the SDK's _validate_py_version_and_set_if_needed.
static const json_t *img_py(const json_t *vc, const char *fw, const char **py,
                            struct smf_error *err)
{
  bool leaf = json_object_get(vc, "repository") != NULL;
  const json_t *avail = leaf ? json_object_get(vc, "py_versions") : NULL;
  size_t n = leaf ? json_array_size(avail) : json_object_size(vc);
  if (n == 0) {
    *py = NULL;
    return vc;
  }
  if (*py == NULL && n == 1) {
    *py = leaf ? json_string_value(json_array_get(avail, 0))
               : json_object_iter_key(json_object_iter((json_t *)vc));
  }
  bool ok = *py && (leaf ? img_in(avail, *py) : json_object_get(vc, *py) != NULL);
  if (!ok) {
    char *l = leaf ? img_list(avail) : img_keys(vc, NULL);
    SMF_ERR_SET(err, SMF_EVALIDATE, "unsupported %s Python version: %s. Supported: %s", fw,
                *py ? *py : "(none)", l);
    free(l);
    return NULL;
  }
  return leaf ? vc : json_object_get(vc, *py);
}

static json_t *img_load(const char *share_dir, const char *fw, struct smf_error *err)
{
  static const char *const known[] = {"pytorch", "tensorflow", "sklearn", "xgboost", "huggingface"};
  bool ok = false;
  for (size_t i = 0; i < SMF_ARRAY_LEN(known); i++) {
    ok = ok || strcmp(fw, known[i]) == 0;
  }
  if (!ok) {
    SMF_ERR_SET(err, SMF_EVALIDATE,
                "no image URI data for framework '%s' (supported: pytorch, tensorflow, sklearn, "
                "xgboost, huggingface); set image_uri",
                fw);
    return NULL;
  }
  char *path = smf_xasprintf("%s/image_uris/%s.json", awst_share_dir(share_dir), fw);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (root == NULL) {
    SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, je.text);
  }
  free(path);
  return root;
}

// The tag suffix the SDK adds for p4d instances and smdistributed (old images).
static const char *img_auto_container(const char *fw, const char *tag)
{
  static const char *const map[][2] = {
      {"tensorflow-2.3-gpu-py37", "cu110-ubuntu18.04-v3"},
      {"tensorflow-2.3.1-gpu-py37", "cu110-ubuntu18.04"},
      {"tensorflow-2.3.2-gpu-py37", "cu110-ubuntu18.04"},
      {"tensorflow-1.15-gpu-py37", "cu110-ubuntu18.04-v8"},
      {"tensorflow-1.15.4-gpu-py37", "cu110-ubuntu18.04"},
      {"tensorflow-1.15.5-gpu-py37", "cu110-ubuntu18.04"},
      {"pytorch-1.6-gpu-py36", "cu110-ubuntu18.04-v3"},
      {"pytorch-1.6.0-gpu-py36", "cu110-ubuntu18.04"},
      {"pytorch-1.6-gpu-py3", "cu110-ubuntu18.04-v3"},
      {"pytorch-1.6.0-gpu-py3", "cu110-ubuntu18.04"},
  };
  char key[256];
  snprintf(key, sizeof(key), "%s-%s", fw, tag);
  for (size_t i = 0; i < SMF_ARRAY_LEN(map); i++) {
    if (strcmp(map[i][0], key) == 0) {
      return map[i][1];
    }
  }
  return NULL;
}

struct img_parts {
  const char *fw, *version, *py, *itype, *processor, *container, *tag_prefix;
  bool smdistributed;
};

static char *img_tag(const struct img_parts *p)
{
  struct smf_buf b = {0};
  const char *parts[] = {p->tag_prefix, p->processor, p->py, p->container};
  for (size_t i = 0; i < SMF_ARRAY_LEN(parts); i++) {
    if (parts[i] && *parts[i]) {
      smf_buf_printf(&b, "%s%s", b.len ? "-" : "", parts[i]);
    }
  }
  char fam[64];
  img_family(p->itype, fam, sizeof(fam));
  bool generic = strcmp(p->fw, "xgboost") != 0 && strcmp(p->fw, "sklearn") != 0;
  if (generic && p->itype && (strcmp(fam, "p4d") == 0 || p->smdistributed)) {
    const char *extra = img_auto_container(p->fw, smf_buf_cstr(&b));
    if (extra) {
      smf_buf_printf(&b, "-%s", extra);
    }
  }
  return smf_buf_steal(&b);
}

static int img_resolve(const json_t *root, const struct img_parts *in, const char *region,
                       enum awst_scope scope, char **out, struct smf_error *err)
{
  struct img_parts p = *in;
  const char *sname = scope == AWST_SCOPE_TRAINING ? "training" : "inference";
  const json_t *cfg = json_object_get(root, sname);
  if (cfg == NULL) {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "%s has no %s images", p.fw, sname);
  }
  const char *original = p.version;
  const json_t *vc = img_version(cfg, p.fw, &p.version, err);
  const char *base = NULL;
  bool hf = strcmp(p.fw, "huggingface") == 0;
  if (vc && hf) {
    vc = img_hf_base(vc, p.version, &base, err);
  }
  if (vc == NULL || (vc = img_py(vc, p.fw, &p.py, err)) == NULL) {
    return err->code;
  }
  const json_t *sets = json_object_get(root, "registry_sets");
  const json_t *regs =
      json_array_get(sets, (size_t)json_integer_value(json_object_get(vc, "registries")));
  const char *account = json_string_value(json_object_get(regs, region));
  if (account == NULL) {
    char *l = img_keys(regs, NULL);
    SMF_ERR_SET(err, SMF_EVALIDATE, "%s %s images are not offered in region %s (regions: %s)", p.fw,
                p.version, region, l);
    free(l);
    return SMF_EVALIDATE;
  }
  const json_t *procs = json_object_get(cfg, "processors");
  int rc =
      img_processor(p.itype, procs ? procs : json_object_get(vc, "processors"), &p.processor, err);
  if (rc != 0) {
    return rc;
  }
  const json_t *cv = json_object_get(vc, "container_version");
  p.container = cv && p.processor ? json_string_value(json_object_get(cv, p.processor)) : NULL;
  if (hf && !p.container && scope == AWST_SCOPE_TRAINING && p.processor &&
      strcmp(p.processor, "gpu") == 0) {
    p.container = "cu110-ubuntu18.04";  // get_training_image_uri's default for native HF GPU
  }
  char hfprefix[128];
  if (hf) {
    snprintf(hfprefix, sizeof(hfprefix), "%s-transformers%s", base + strlen("pytorch"), original);
    p.tag_prefix = hfprefix;
  } else {
    const char *tp = json_string_value(json_object_get(vc, "tag_prefix"));
    p.tag_prefix = tp ? tp : p.version;
  }
  char *tag = img_tag(&p);
  const char *repo = json_string_value(json_object_get(vc, "repository"));
  *out = smf_xasprintf("%s.dkr.ecr.%s.%s/%s%s%s", account, region, awst_dns_suffix(region),
                       repo ? repo : "", *tag ? ":" : "", tag);
  free(tag);
  return 0;
}

int awst_image_uri(const char *share_dir, const char *framework, const char *version,
                   const char *py_version, const char *instance_type, const char *region,
                   enum awst_scope scope, bool smdistributed, char **out, struct smf_error *err)
{
  *out = NULL;
  if (framework == NULL) {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "set image_uri or framework + framework_version");
  }
  json_t *root = img_load(share_dir, framework, err);
  if (root == NULL) {
    return err->code;
  }
  struct img_parts p = {.fw = framework,
                        .version = version,
                        .py = py_version,
                        .itype = instance_type,
                        .smdistributed = smdistributed};
  int rc = img_resolve(root, &p, region, scope, out, err);
  json_decref(root);
  return rc;
}
