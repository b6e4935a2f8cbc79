"""What the mutants share."""

from __future__ import annotations

__all__ = ["WithoutDelete"]


class WithoutDelete:
    """First base of every mutant whose bug is not in delete: it offers no `delete` (the
    subject contract's optional one), although the built-in it breaks does.

    Why: those mutants were measured (README: caught by every one of 5 seeds) before
    deletes existed, and a subject with `delete` draws deletes, so every seed of it would
    search differently. Without one, a seed draws for it exactly what it drew then.
    `None` is what the harness reads as "no delete" (`callable(getattr(s, "delete", None))`).
    """

    delete = None
