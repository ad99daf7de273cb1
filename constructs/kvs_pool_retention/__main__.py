"""`python -m kvs_pool_retention drift --app cdk.out [--stack NAME]`."""

import sys

from kvs_pool_retention.drift import main

sys.exit(main())
