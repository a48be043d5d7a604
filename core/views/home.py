from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from jindu import outline
from jindu.navigation import MENU


@login_required
def home(request):
    pillars = [{"pillar": p, "measures": outline.measures_of(p.number)} for p in outline.PILLARS]
    return render(request, "core/home.html", {"pillars": pillars, "targets": outline.TARGETS})


@login_required
def pillar(request, app):
    try:
        p = outline.pillar(app)
    except StopIteration as exc:
        raise Http404 from exc
    group = next(g for g in MENU if g.key == app)
    items = [i for i in group.items if not i.resource or request.user.has_resource_perm(i.resource, i.action)]
    built = bool(group.items)
    measures = [replace(m, lead_units=outline.display(m.lead_units),
                        participating_units=outline.display(m.participating_units))
                for m in outline.measures_of(p.number)]
    return render(request, "core/pillar.html", {"pillar": p, "measures": measures, "modules": items, "built": built})


@login_required
def targets(request):
    return render(request, "core/targets.html", {"targets": outline.TARGETS})
