"""Form-section access (after Primero): a model lists which of its fields belong to which section,
``field_sections = {"tests": ("last_test_result", ...), "police_notes": (...)}``; a user whose role
lacks a section never sees those fields — not on pages, not in forms, not in API responses."""


def hidden_fields(user, model) -> set[str]:
    sections = getattr(model, "field_sections", None) or {}
    hidden = set()
    for section, names in sections.items():
        if user is None or not user.is_authenticated or not user.sees_section(section):
            hidden.update(names)
    return hidden
