from core.api.views import BaseModelViewSet

from ..filtersets import OrganizationFilterSet
from ..models import Organization
from .serializers import OrganizationSerializer


class OrganizationViewSet(BaseModelViewSet):
    queryset = Organization.objects.select_related("parent")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
