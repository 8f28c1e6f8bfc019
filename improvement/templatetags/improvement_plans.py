"""The manager dashboard's "overdue action plans" card. The dashboard (reporting) sits below this
app in the layers, so it loads this tag instead of importing the selector."""

from django import template

from improvement.selectors import overdue_plans

register = template.Library()


@register.inclusion_tag("improvement/_overdue_card.html", takes_context=True)
def overdue_plans_card(context):
    user = context["request"].user
    plans = list(overdue_plans(user).select_related("owner")[:20])
    return {"plans": plans}
