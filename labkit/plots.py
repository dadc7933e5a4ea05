"""Part 4's charts, drawn with matplotlib from the DataFrames the Athena queries return.

Each function takes the query's DataFrame and the names of its columns, draws on `ax` (a new figure
when None), and returns the Axes, so a notebook cell ending in `;` shows the chart once. matplotlib is
imported when a chart is first drawn, not when the kernel imports labkit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def rejects_over_time(frame: pd.DataFrame, time_column: str, count_column: str, bucket_minutes: int,
                      ax: Any = None) -> Any:
    """REJECT records per time bucket, as bars a bucket wide."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.5))
    width = pd.Timedelta(minutes=bucket_minutes) * 0.9
    ax.bar(frame[time_column], frame[count_column], width=width, align="edge", color="tab:red")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_title(f"Rejected flows per {bucket_minutes} minutes")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("REJECT records")
    return ax


def top_talkers(frame: pd.DataFrame, address_column: str, value_column: str, ax: Any = None) -> Any:
    """A horizontal bar per address, the biggest at the top, on a log scale (one talker often
    dwarfs the rest)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(frame) + 1.2))
    ordered = frame.sort_values(value_column)
    ax.barh(ordered[address_column].astype(str), ordered[value_column], color="tab:blue")
    ax.set_xscale("log")
    ax.set_title(f"Top talkers by {value_column}")
    ax.set_xlabel(f"{value_column} (log scale)")
    return ax


def port_by_hour_heatmap(frame: pd.DataFrame, hour_column: str, port_column: str, count_column: str,
                         ax: Any = None) -> Any:
    """Counts per destination port (rows) and hour of the day (columns, 0 to 23), as colours."""
    import matplotlib.pyplot as plt

    grid = (frame.pivot_table(index=port_column, columns=hour_column, values=count_column, aggfunc="sum")
            .reindex(columns=range(24)).fillna(0))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.5 * len(grid) + 1.5))
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="Reds")
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_yticks(range(len(grid)), [str(port) for port in grid.index])
    ax.set_xlabel("hour of the day (UTC)")
    ax.set_ylabel(port_column)
    ax.set_title(f"{count_column} by {port_column} and hour")
    ax.figure.colorbar(image, ax=ax, label=count_column)
    return ax
