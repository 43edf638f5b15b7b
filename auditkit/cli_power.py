"""``auditkit power``: the planning question before an audit or a freedom-of-information request.

How many cases per group are needed to detect a ratio R at a reference rate p; or, for group
sizes already known, the smallest ratio they detect.  A thin shell over
:mod:`auditkit.measure.power`.
"""

from __future__ import annotations

import sys

import click

__all__ = ["power"]


@click.command()
@click.option("--reference-rate", type=float, required=True, metavar="P",
              help="The reference group's rate (e.g. 0.08: 8% of the reference group selected).")
@click.option("--ratio", type=float, metavar="R",
              help="Ratio of the group's rate to the reference rate to detect (e.g. 1.5); gives cases per group.")
@click.option("--n-group", type=click.IntRange(min=1), metavar="N",
              help="Cases in the group; with --n-reference gives the minimum detectable ratio.")
@click.option("--n-reference", type=click.IntRange(min=1), metavar="N", help="Cases in the reference group.")
@click.option("--reference-per-group", type=float, default=1.0, show_default=True, metavar="K",
              help="With --ratio: reference cases per group case (10 when the reference is ten times as large).")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Two-sided significance level.")
@click.option("--power", "power_", type=float, default=0.8, show_default=True, help="Wanted power.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def power(reference_rate: float, ratio: float | None, n_group: int | None, n_reference: int | None,
          reference_per_group: float, alpha: float, power_: float, as_json: bool) -> None:
    """Cases per group needed to detect a ratio (--ratio), or the smallest ratio given group sizes
    (--n-group and --n-reference): two-sided test of two proportions, normal approximation on
    Cohen's h (as statsmodels' NormalIndPower). Fisher's exact test and a multiple-testing
    adjustment need somewhat more cases: treat the answer as a minimum."""
    from ._json import json_text
    from .exceptions import UsageError
    from .measure.power import minimum_detectable_ratio, sample_size

    sizes = n_group is not None or n_reference is not None
    if (ratio is None) == (not sizes):
        raise UsageError("Give either --ratio R (how many cases are needed) or --n-group N and --n-reference N "
                         "(which ratio these group sizes detect), not both or neither.")
    if ratio is not None:
        s = sample_size(ratio, reference_rate, alpha, power_, reference_per_group)
        record = {"question": "cases per group", "ratio": ratio, "reference_rate": reference_rate,
                  "group_rate": s.group_rate, "alpha": alpha, "power": power_, "effect_size_h": s.effect_size,
                  "n_group": s.n_group, "n_reference": s.n_reference,
                  "method": "normal approximation, Cohen's h, two-sided"}
        text = (f"To detect a ratio of {ratio:g} (a group rate of {s.group_rate:.2%} against {reference_rate:.2%}) "
                f"with {power_:.0%} power at alpha {alpha:g} (two-sided), an audit needs at least "
                f"{s.n_group:,} cases in the group and {s.n_reference:,} in the reference group.")
    else:
        if n_group is None or n_reference is None:
            raise UsageError("Give both --n-group N and --n-reference N.")
        m = minimum_detectable_ratio(n_group, n_reference, reference_rate, alpha, power_)
        record = {"question": "minimum detectable ratio", "n_group": n_group, "n_reference": n_reference,
                  "reference_rate": reference_rate, "alpha": alpha, "power": power_,
                  "effect_size_h": m.effect_size, "min_detectable_ratio": m.above,
                  "min_detectable_ratio_below": m.below, "reason_above": m.reason_above,
                  "reason_below": m.reason_below, "method": "normal approximation, Cohen's h, two-sided"}
        above = f"{m.above:.2f}" if m.above is not None else f"none ({m.reason_above})"
        below = f"{m.below:.2f}" if m.below is not None else f"none ({m.reason_below})"
        text = (f"With {n_group:,} cases in the group and {n_reference:,} in the reference group (reference rate "
                f"{reference_rate:.2%}), a ratio would be detected with {power_:.0%} power at alpha {alpha:g} "
                f"(two-sided) only if it is at least {above} or at most {below}: a ratio closer to 1 would be "
                f"detected less than {power_:.0%} of the time.")
    if as_json:
        sys.stdout.write(json_text(record))
    else:
        click.echo(text)
