# The lab's nbgrader course (nbgrader 0.9): `labkit workshop release|grade` use it, and so do nbgrader's own
# command line (`nbgrader autograde vpc-flow-logs`, run here) and its JupyterLab extension (formgrader).
# source/vpc-flow-logs is the repository's notebooks/ (a link: one copy of the lab); release/,
# submitted/, autograded/, feedback/, gradebook.db and grading/ are made here and git-ignored.
import os
from functools import partial
from pathlib import Path

from labkit.grading import cloud_for_learner, stop_learners_cloud, with_interpreter_on_path

c = get_config()  # noqa: F821
HERE = Path(__file__).resolve().parent

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = "labkit-vpc-flow-logs"
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook.db'}"
# Releases and submissions go through the instructor's folders (labkit workshop release, collect), or
# through nbgrader's exchange if the instructor sets one up; this one is the course's own.
c.Exchange.root = str(HERE / "exchange")

# Autograde runs every notebook of a learner in order (01 .. 04, 99), each in a fresh kernel, against one
# local cloud per learner: the parts build on each other. Part 3 waits for its alarm for minutes, and
# nbgrader's default cell timeout is 30 s.
c.Execute.timeout = int(os.environ.get("LABKIT_GRADE_CELL_TIMEOUT", "300"))
c.Execute.kernel_name = "python3"
c.Execute.startup_timeout = 120
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]  # its "TCP without encryption" warning: loopback only
# Each learner's cloud: a fresh one in grading/<learner> (or the learner's own: LABKIT_GRADE_CLOUD=own,
# LABKIT_GRADE_HOMES=<their homes>), set before their notebooks run and stopped after.
c.Autograde.pre_convert_hook = partial(cloud_for_learner, HERE / "grading")
c.Autograde.post_convert_hook = partial(stop_learners_cloud, HERE / "grading")

with_interpreter_on_path()  # nbgrader runs `alembic` by name
