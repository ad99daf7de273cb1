"""`make bench`: this construct against CDK's AwsCustomResource doing the same job, measured in one run.

Writes docs/benchmarks/results.md, results.json and synth.png. Not collected by pytest.
"""

import tests.simulation  # noqa: F401  (puts lambda/ on the path: tests.fakes and the herd import it)
