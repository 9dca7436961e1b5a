"""How the look-ahead check (ai.lookahead) perturbs this app's tables that other models read."""

from django.db.models import F

from ai.lookahead import perturbation_register

from .models import AISectorAnalysis


@perturbation_register
def sector_momentum_perturb(last_known) -> None:
    """Reverse every sector's momentum after `last_known`."""
    AISectorAnalysis.objects.filter(analysis_time__gt=last_known, momentum_score__isnull=False).update(
        momentum_score=-F("momentum_score")
    )
