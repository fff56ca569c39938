import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from bench.models import CeilingRow


@csrf_exempt
def ceiling(request):
    """Parse the JSON body and insert one row: the ceiling a webhook endpoint can reach."""
    payload = json.loads(request.body)
    row = CeilingRow.objects.create(payload=payload)
    return JsonResponse({"id": row.pk})
