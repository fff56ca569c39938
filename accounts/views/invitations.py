"""Accepting an invitation, open sign-up (ALLOW_SIGNUP), and the site's 403 page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts import services

BACKEND = "django.contrib.auth.backends.ModelBackend"


class NewPersonForm(UserCreationForm):
    """A user name and a password, checked by Django's password validators."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username"]


class SignUpForm(NewPersonForm):
    email = forms.EmailField(required=True)

    class Meta(NewPersonForm.Meta):
        fields = ["username", "email"]


@sensitive_post_parameters("password1", "password2")
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = services.invitation_find(token=token)
    refusal = services.invitation_refusal(invitation=found, user=request.user)
    context = {"invitation": found, "refusal": refusal}
    if refusal:
        return render(request, "accounts/invitation.html", context, status=410 if found else 404)
    user = request.user
    if user.is_authenticated:
        if request.method == "POST":
            return _accept(request, token, context)
        return render(request, "accounts/invitation.html", context)
    existing = get_user_model().objects.filter(email__iexact=found.email).exists()
    form = NewPersonForm(request.POST or None)
    context.update(form=form, existing=existing)
    if request.method == "POST" and not existing and form.is_valid():
        try:
            membership = services.invitation_sign_up(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            context["errors"] = exc.messages
            return render(request, "accounts/invitation.html", context, status=400)
        login(request, membership.user, backend=BACKEND)
        return redirect("/")
    return render(request, "accounts/invitation.html", context)


def _accept(request: HttpRequest, token: str, context: dict) -> HttpResponse:
    try:
        services.invitation_accept(token=token, user=request.user)
    except ValidationError as exc:
        context["refusal"] = " ".join(exc.messages)
        return render(request, "accounts/invitation.html", context, status=410)
    return redirect("/")


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is closed: people join by invitation.")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend=BACKEND)
            return redirect("/")
    return render(request, "accounts/signup.html", {"form": form})
