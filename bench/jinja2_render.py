#!/usr/bin/env python3
"""Render a weir built-in template with Python Jinja2, for comparison with weir-render.

Same template text (crates/weir-render/src/templates/*.yaml.j2), same context
(bench/*_context.json) and the same environment settings as weir-render's minijinja
environment: StrictUndefined, trim_blocks, lstrip_blocks, keep_trailing_newline, no
autoescape. Times, with timeit, and prints the median of the repeats of:

- `template.render(context)` (compiled once, like weir's cache);
- the seed's path per task: that render, then the YAML loaded into Python objects the way
  the KubernetesJobOperator loads a body (`list(yaml.safe_load_all(text))`: PyYAML's
  pure-Python SafeLoader; `safe_load*` never takes the LibYAML C loader).

    python3 bench/jinja2_render.py                 # job template, human-readable timing
    python3 bench/jinja2_render.py --json          # {"median_ns": ..., ...} for bench/render.sh
    python3 bench/jinja2_render.py --print dbt bench/dbt_context.json   # rendered text
"""

import argparse
import json
import pathlib
import statistics
import sys
import timeit

try:
    import jinja2
    import yaml
except ImportError:  # pragma: no cover - a hint beats a traceback
    sys.exit("jinja2 or pyyaml is missing: python3 -m pip install jinja2 pyyaml")

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "crates" / "weir-render" / "src" / "templates"
# Template names as weir registers them.
NAMES = {"job": "job.yaml.j2", "spark": "spark.yaml.j2", "dbt": "dbt.yaml.j2", "weir/pod": "pod.yaml.j2"}


def environment():
    sources = {name: (TEMPLATES / file).read_text() for name, file in NAMES.items()}
    return jinja2.Environment(
        loader=jinja2.DictLoader(sources),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", nargs="?", default="job", choices=["job", "spark", "dbt"])
    parser.add_argument("context", nargs="?", default=str(ROOT / "bench" / "job_context.json"))
    parser.add_argument("--number", type=int, default=2000, help="renders per repeat")
    parser.add_argument("--step-number", type=int, default=50, help="render + YAML loads per repeat")
    parser.add_argument("--repeat", type=int, default=15, help="repeats; the median is reported")
    parser.add_argument("--print", action="store_true", help="print the rendered text and exit")
    parser.add_argument("--json", action="store_true", help="print the timing as JSON")
    args = parser.parse_args()

    template = environment().get_template(args.template)
    context = json.loads(pathlib.Path(args.context).read_text())
    if args.print:
        sys.stdout.write(template.render(context))
        return

    def step():
        # What the KubernetesJobOperator does with a rendered body (JobRunner.prepare_body).
        documents = list(yaml.safe_load_all(template.render(context)))
        if not all(isinstance(document, dict) for document in documents):
            raise ValueError("the rendered body is not a list of mappings")
        return documents

    def per_call_ns(call, number):
        call()  # warm-up
        totals = timeit.Timer(call).repeat(args.repeat, number)
        return [total / number * 1e9 for total in totals]

    render = per_call_ns(lambda: template.render(context), args.number)
    step_ns = per_call_ns(step, args.step_number)
    result = {
        "median_ns": statistics.median(render),
        "min_ns": min(render),
        "step_median_ns": statistics.median(step_ns),
        "step_min_ns": min(step_ns),
        "repeats": args.repeat,
        "number": args.number,
        "step_number": args.step_number,
        "python": sys.version.split()[0],
        "jinja2": jinja2.__version__,
        "pyyaml": yaml.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"jinja2 {result['jinja2']} (Python {result['python']}): "
              f"median {result['median_ns'] / 1000:.1f} µs, min {result['min_ns'] / 1000:.1f} µs per render")
        print(f"render + yaml.safe_load_all (PyYAML {result['pyyaml']}, pure-Python SafeLoader): "
              f"median {result['step_median_ns'] / 1000:.1f} µs, min {result['step_min_ns'] / 1000:.1f} µs per task")


if __name__ == "__main__":
    main()
