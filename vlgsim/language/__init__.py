"""Referring expressions and instructions (pure python)."""

from vlgsim.language.referring import ReferentView, make_instruction, referring_expressions

__all__ = ["ReferentView", "make_instruction", "referring_expressions"]
