"""Slack interactivity for feedback: button clicks, the Needs Improvement modal's submit and close.

A click is kept short because Slack wants the answer within 3 s and Lambda does no work after answering:
one read of the installation, [views.open for Needs Improvement: first, the trigger expires in 3 s],
one transaction for the rating, one query for the totals, one chat.update. The message is rebuilt from the
blocks Slack sends with the click (the message as it stands now) with only the feedback line replaced: no
read of the investigation, and the buttons stay for the next rater.

Tenant isolation: the button value names the tenant, but anyone can craft a click. It counts only when the
click comes from the Slack team that tenant installed; anything else is a warning in the log and a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sre_slack.blocks import modal
from sre_slack.blocks.feedback_line import (
    rating_for_action_id,
    render_feedback_line,
    shown_feedback_line,
    with_feedback_line,
)
from sre_slack.blocks.message import SlackMessage
from sre_slack.contracts.buttons import FeedbackButtonValue, ModalContext
from sre_slack.contracts.slack_payloads import (
    BlockActions,
    InvalidPayload,
    PayloadMessage,
    ViewClosed,
    ViewSubmission,
    parse_interaction,
)
from sre_slack.domain.ratings import FeedbackSummary
from sre_slack.observability import count_by, get_logger
from sre_slack.slack.client import write_client
from sre_slack.slack.errors import classify
from sre_slack.slack.interactivity import open_view, tell_user
from sre_slack.slack.poster import update_message
from sre_slack.slack.signing import SlackRequest
from sre_slack.slack.tokens import TokenUnavailable, bot_token
from sre_slack.storage import ratings
from sre_slack.storage.installations import Installation, get_installation

NEEDS_IMPROVEMENT = "needs_improvement"
TEST_MARKER_BLOCK_ID = "test_marker"
METRIC_NAME = "FeedbackRating"


@dataclass(frozen=True)
class InteractionAnswer:
    """The HTTP answer to Slack: status and JSON body (None: empty body, which closes a submitted modal)."""

    status: int
    body: dict[str, Any] | None = None


OK = InteractionAnswer(200)


def handle_interaction(request: SlackRequest) -> InteractionAnswer:
    """Answer one verified interactivity request."""
    logger = get_logger()
    try:
        payload = parse_interaction(request.text)
    except (InvalidPayload, UnicodeDecodeError) as exc:
        logger.warning("interaction payload refused", reason=str(exc))
        return InteractionAnswer(400, {"error": "invalid_payload", "message": str(exc)})
    retry = request.retry_num is not None
    if isinstance(payload, BlockActions):
        try:
            handle_block_actions(payload, retry=retry)
        except Exception:  # Slack would only show "app did not respond"; tell the rater instead
            logger.exception("feedback click failed")
            _tell_rater(payload.response_url, "Sorry, your rating could not be saved. Please click again.")
        return OK
    if isinstance(payload, ViewSubmission):
        return handle_view_submission(payload)
    if isinstance(payload, ViewClosed):
        handle_view_closed(payload)
        return OK
    logger.info("interaction ignored", interaction_type=payload.type)
    return OK


# --- clicks ---------------------------------------------------------------------------------------------


def handle_block_actions(payload: BlockActions, *, retry: bool = False) -> None:
    for action in payload.actions:
        rating = rating_for_action_id(action.action_id)
        if rating is None:
            # The portal link button also sends block_actions; it has nothing to record.
            get_logger().info("action ignored", action_id=action.action_id[:64])
            continue
        _handle_rating_click(payload, rating, action.value or "", retry=retry)


def _installation_for(tenant_id: str, team_id: str, *, what: str) -> Installation | None:
    installation = get_installation(tenant_id)
    if installation is None or installation.team_id != team_id:
        get_logger().warning(f"{what} refused: the Slack team did not install this tenant's app",
                             tenant_id=tenant_id, team_id=team_id)
        return None
    return installation


def _handle_rating_click(payload: BlockActions, rating: str, value: str, *, retry: bool) -> None:
    logger = get_logger()
    target = FeedbackButtonValue.parse(value)
    if target is None:
        logger.warning("feedback click refused: the button value is not one we built", rating=rating)
        return
    tenant_id, investigation_id = target.tenant_id, target.investigation_id
    logger.append_keys(tenant_id=tenant_id, investigation_id=investigation_id)
    installation = _installation_for(tenant_id, payload.team.id, what="feedback click")
    if installation is None:
        return
    channel_id, message_ts = payload.channel_id, payload.message_ts
    token: str | None = None
    if rating == NEEDS_IMPROVEMENT and payload.trigger_id and not retry:
        token = _token(installation)
        if token is not None:
            _open_modal(token, payload.trigger_id,
                        ModalContext(tenant_id=tenant_id, investigation_id=investigation_id, channel_id=channel_id,
                                     message_ts=message_ts))
    try:
        outcome = ratings.record_rating(
            tenant_id, investigation_id, user_id=payload.user.id, rating=rating, team_id=payload.team.id,
            user_name=payload.user.username or payload.user.name, channel_id=channel_id, message_ts=message_ts,
            count=not _is_test_message(payload.message),
        )
    except ratings.UnknownInvestigation:
        logger.warning("feedback click for an unknown investigation; nothing recorded")
        return
    logger.info("feedback recorded" if outcome.changed else "feedback unchanged", rating=rating,
                previous_rating=outcome.previous, user_id=payload.user.id)
    if outcome.changed:
        _emit_metric(rating)
    if not channel_id or not message_ts or payload.message is None:
        return
    # A click that changes nothing (a double click, a second try) updates the line only if it is behind what is
    # stored (an earlier update failed); a Slack retry may follow an attempt that wrote but never updated.
    showing = None if outcome.changed or retry else shown_feedback_line(payload.message.blocks)
    token = token or _token(installation)
    if token is None:
        return
    try:
        _show_ratings(token, tenant_id, investigation_id, channel_id, message_ts, payload.message, outcome.rating,
                      showing=showing)
    except Exception:  # the rating is stored: the line catches up with the next click on this message
        logger.exception("feedback line not updated", investigation_id=investigation_id)


def _tell_rater(response_url: str | None, text: str) -> None:
    """An ephemeral note to the person who clicked (only they see it), best effort."""
    tell_user(response_url, text)


def _is_test_message(message: PayloadMessage | None) -> bool:
    # Test Integration posts are marked in the message itself; their ratings stay out of the accuracy counts.
    return message is not None and any(b.get("block_id") == TEST_MARKER_BLOCK_ID for b in message.blocks)


def _token(installation: Installation) -> str | None:
    try:
        return bot_token(installation)
    except TokenUnavailable as exc:
        get_logger().warning("no bot token; the message is not updated", reason=exc.reason)
        return None


def _open_modal(token: str, trigger_id: str, context: ModalContext) -> None:
    try:
        view_id = open_view(token, trigger_id, modal.build_view(context))
    except Exception as exc:  # the rating still counts without the modal
        get_logger().warning("feedback modal not opened", failure=classify(exc).describe())
        return
    get_logger().info("feedback modal opened", view_id=view_id)


def _emit_metric(rating: str) -> None:
    count_by(METRIC_NAME, "rating", rating)


# Re-reads after an update, at most: people rating one message at the same moment converge in one or two.
_SHOW_RATINGS_ROUNDS = 3


def _show_ratings(token: str, tenant_id: str, investigation_id: str, channel_id: str, message_ts: str,
                  message: PayloadMessage, latest: ratings.Rating, *, showing: str | None) -> None:
    """Bring the feedback line up to what is stored (`showing`: the line the message has now, None to update in
    any case), then read the ratings again: a click stored while this update was on its way (someone else rating
    at the same moment) would otherwise leave the line short of it, as chat.update has no compare-and-set. The
    last update to land is then one made after every rating it must show was stored."""
    for _round in range(_SHOW_RATINGS_ROUNDS):
        summary = ratings.summarize(ratings.list_ratings(tenant_id, investigation_id), latest=latest)
        line = render_feedback_line(summary)
        if line == showing or not _update_message(token, channel_id, message_ts, message, summary):
            return
        showing = line


def _update_message(token: str, channel_id: str, message_ts: str, message: PayloadMessage,
                    summary: FeedbackSummary) -> bool:
    result = update_message(write_client(token), channel_id, message_ts,
                            SlackMessage(text=message.text, blocks=tuple(with_feedback_line(message.blocks, summary))))
    if result.failure is not None:  # the rating is stored; the line shows with the next click
        get_logger().warning("feedback line not updated", failure=result.reason, channel_id=channel_id)
        return False
    return True


# --- the modal ------------------------------------------------------------------------------------------


def handle_view_submission(payload: ViewSubmission) -> InteractionAnswer:
    logger = get_logger()
    if payload.view.callback_id != modal.CALLBACK_ID:
        logger.info("view submission ignored", callback_id=payload.view.callback_id[:64])
        return OK
    context = ModalContext.parse(payload.view.private_metadata)
    if context is None:
        logger.warning("feedback modal without its context; nothing recorded")
        return OK
    logger.append_keys(tenant_id=context.tenant_id, investigation_id=context.investigation_id)
    entered = modal.read_submission(payload.view)
    if isinstance(entered, dict):
        return InteractionAnswer(200, {"response_action": "errors", "errors": entered})
    if _installation_for(context.tenant_id, payload.team.id, what="feedback comment") is None:
        return OK
    user_id = payload.user.id
    if not ratings.add_comment(context.tenant_id, context.investigation_id, user_id, reason=entered.reason,
                             comment=entered.details):
        # The click's write did not happen (or the row was removed): the modal is the rater's word.
        try:
            ratings.record_rating(context.tenant_id, context.investigation_id, user_id=user_id,
                                rating=NEEDS_IMPROVEMENT, team_id=payload.team.id,
                                user_name=payload.user.username or payload.user.name,
                                channel_id=context.channel_id, message_ts=context.message_ts)
        except ratings.UnknownInvestigation:
            logger.warning("feedback comment for an unknown investigation; nothing recorded")
            return OK
        _emit_metric(NEEDS_IMPROVEMENT)
        ratings.add_comment(context.tenant_id, context.investigation_id, user_id, reason=entered.reason,
                          comment=entered.details)
    logger.info("feedback comment recorded", reason=entered.reason, user_id=user_id)
    return OK


def handle_view_closed(payload: ViewClosed) -> None:
    # The rating was recorded by the click; closing the modal only means no comment.
    get_logger().info("feedback modal closed without a comment", user_id=payload.user.id,
                      callback_id=payload.view.callback_id[:64])
