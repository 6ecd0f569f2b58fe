"""Slack interactivity: the feedback buttons and the Needs Improvement modal's submit and close, Acknowledge, and
the overflow menu's Re-investigate.

A click is kept short because Slack wants the answer within 3 s and Lambda does no work after answering. A rating:
one read of the installation, [views.open for Needs Improvement: first, the trigger expires in 3 s], one read of
SEEN (the cluster the event names), one read and one transaction for the rating and its event, one query for the
totals, one chat.update. Acknowledge: installation, SEEN, one transaction (ACK and its event), one chat.update.
Re-investigate: installation, SEEN, one transaction (the request's event), an ephemeral note. The message is
rebuilt from the blocks Slack sends with the click (the message as it stands now) with only one line replaced:
no read of the investigation, and the buttons stay for the next click. No click calls EventBridge: each event is
stored in the outbox with its change and published from there (sre_slack.services.engine_events).

Tenant isolation: the button value names the tenant, but anyone can craft a click. It counts only when the
click comes from the Slack team that tenant installed; anything else is a warning in the log and a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sre_slack.blocks import modal
from sre_slack.blocks.feedback_line import (
    rating_for_action_id,
    render_feedback_line,
    shown_feedback_line,
    with_feedback_line,
)
from sre_slack.blocks.investigation_actions import (
    ACKNOWLEDGE_ACTION_ID,
    MENU_ACTION_ID,
    REINVESTIGATE_OPTION,
    Acknowledged,
    investigation_in,
    render_acknowledged,
    shown_acknowledged_line,
    with_acknowledged_line,
)
from sre_slack.blocks.message import SlackMessage
from sre_slack.contracts.buttons import FeedbackButtonValue, ModalContext
from sre_slack.contracts.engine_events import FeedbackRecorded
from sre_slack.contracts.slack_payloads import (
    Action,
    BlockActions,
    InvalidPayload,
    PayloadMessage,
    ViewClosed,
    ViewSubmission,
    parse_interaction,
)
from sre_slack.observability import count, count_by, get_logger
from sre_slack.services import engine_events
from sre_slack.slack.client import write_client
from sre_slack.slack.errors import classify
from sre_slack.slack.interactivity import open_view, tell_user
from sre_slack.slack.poster import update_message
from sre_slack.slack.signing import SlackRequest
from sre_slack.slack.tokens import TokenUnavailable, bot_token
from sre_slack.storage import acknowledgements, investigations, outbox, ratings
from sre_slack.storage.acknowledgements import Acknowledgement
from sre_slack.storage.errors import UnknownInvestigation
from sre_slack.storage.installations import Installation, get_installation

NEEDS_IMPROVEMENT = "needs_improvement"
TEST_MARKER_BLOCK_ID = "test_marker"
METRIC_NAME = "FeedbackRating"
REINVESTIGATION_REQUESTED = ("🔁 Re-investigation requested. This message is updated when the new analysis is "
                             "ready.")
# What the person who clicked is told when our side failed (Slack would only show "app did not respond").
_APOLOGIES = {
    "rating": "Sorry, your rating could not be saved. Please click again.",
    "acknowledge": "Sorry, the acknowledgement could not be saved. Please click again.",
    "reinvestigate": "Sorry, the re-investigation could not be requested. Please try again.",
}


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
        handle_block_actions(payload, retry=retry)
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
        kind, run = _route(payload, action, retry=retry)
        if run is None:
            # The portal link button also sends block_actions; it has nothing to record.
            get_logger().info("action ignored", action_id=action.action_id[:64])
            continue
        try:
            run()
        except Exception:  # Slack would only show "app did not respond"; tell the person who clicked instead
            get_logger().exception(f"{kind} click failed")
            _tell_rater(payload.response_url, _APOLOGIES[kind])


def _route(payload: BlockActions, action: Action, *, retry: bool) -> tuple[str, Callable[[], None] | None]:
    rating = rating_for_action_id(action.action_id)
    if rating is not None:
        return "rating", lambda: _handle_rating_click(payload, rating, action.value or "", retry=retry)
    if action.action_id == ACKNOWLEDGE_ACTION_ID:
        return "acknowledge", lambda: _handle_acknowledge(payload, action.value or "", retry=retry)
    chosen = action.selected_option.value if action.selected_option else None
    if action.action_id == MENU_ACTION_ID and chosen == REINVESTIGATE_OPTION:
        return "reinvestigate", lambda: _handle_reinvestigate(payload, action)
    return "other", None


def _installation_for(tenant_id: str, team_id: str, *, what: str) -> Installation | None:
    installation = get_installation(tenant_id)
    if installation is None or installation.team_id != team_id:
        get_logger().warning(f"{what} refused: the Slack team did not install this tenant's app",
                             tenant_id=tenant_id, team_id=team_id)
        return None
    return installation


def _clicked_target(payload: BlockActions, target: FeedbackButtonValue | None, *, what: str
                    ) -> tuple[FeedbackButtonValue, Installation] | None:
    """The investigation a button names, when it is one we built and the clicking team installed its tenant."""
    logger = get_logger()
    if target is None:
        logger.warning(f"{what} refused: the message or button names no investigation of ours")
        return None
    logger.append_keys(tenant_id=target.tenant_id, investigation_id=target.investigation_id)
    installation = _installation_for(target.tenant_id, payload.team.id, what=what)
    return None if installation is None else (target, installation)


def _handle_rating_click(payload: BlockActions, rating: str, value: str, *, retry: bool) -> None:
    logger = get_logger()
    clicked = _clicked_target(payload, FeedbackButtonValue.parse(value), what="feedback click")
    if clicked is None:
        return
    target, installation = clicked
    tenant_id, investigation_id = target.tenant_id, target.investigation_id
    channel_id, message_ts = payload.channel_id, payload.message_ts
    token: str | None = None
    if rating == NEEDS_IMPROVEMENT and payload.trigger_id and not retry:
        token = _token(installation)
        if token is not None:
            _open_modal(token, payload.trigger_id,
                        ModalContext(tenant_id=tenant_id, investigation_id=investigation_id, channel_id=channel_id,
                                     message_ts=message_ts))
    cluster = investigations.cluster_of(tenant_id, investigation_id)
    try:
        if cluster is None:
            raise UnknownInvestigation(investigation_id)
        outcome = ratings.record_rating(
            tenant_id, investigation_id, user_id=payload.user.id, rating=rating, team_id=payload.team.id,
            user_name=payload.user.username or payload.user.name, channel_id=channel_id, message_ts=message_ts,
            count=not _is_test_message(payload.message),
            event=lambda row: engine_events.feedback_recorded(row, cluster),
        )
    except UnknownInvestigation:
        logger.warning("feedback click for an unknown investigation; nothing recorded")
        return
    logger.info("feedback recorded" if outcome.changed else "feedback unchanged", rating=rating,
                previous_rating=outcome.previous, user_id=payload.user.id)
    if outcome.changed:
        _emit_metric(rating)
    if not channel_id or not message_ts or payload.message is None:
        return
    # A click that changes nothing (a double click, a second try) updates the message only if it is behind what is
    # stored (an earlier update failed); a Slack retry may follow an attempt that wrote but never updated.
    showing = None if outcome.changed or retry else _shown_lines(payload.message)
    token = token or _token(installation)
    if token is None:
        return
    try:
        _show_stored(token, tenant_id, investigation_id, channel_id, message_ts, payload.message, latest=outcome.rating,
                     showing=showing, what="feedback line")
    except Exception:  # the rating is stored: the line catches up with the next click on this message
        logger.exception("feedback line not updated", investigation_id=investigation_id)


def _handle_acknowledge(payload: BlockActions, value: str, *, retry: bool) -> None:
    """The first click records who and when (and its event); later clicks, double clicks and retries change
    nothing, except showing the line on a message that still lacks it (an earlier update that did not go)."""
    logger = get_logger()
    clicked = _clicked_target(payload, FeedbackButtonValue.parse(value), what="acknowledge click")
    if clicked is None:
        return
    target, installation = clicked
    tenant_id, investigation_id = target.tenant_id, target.investigation_id
    cluster = investigations.cluster_of(tenant_id, investigation_id)
    wanted = Acknowledgement(tenant_id=tenant_id, investigation_id=investigation_id, user_id=payload.user.id,
                             acknowledged_at=int(datetime.now(UTC).timestamp()),
                             user_name=payload.user.username or payload.user.name, team_id=payload.team.id,
                             channel_id=payload.channel_id, message_ts=payload.message_ts)
    try:
        if cluster is None:
            raise UnknownInvestigation(investigation_id)
        outcome = acknowledgements.acknowledge(wanted, event=lambda ack: engine_events.acknowledged(ack, cluster))
    except UnknownInvestigation:
        logger.warning("acknowledge click for an unknown investigation; nothing recorded")
        return
    ack = outcome.acknowledgement
    logger.info("investigation acknowledged" if outcome.first else "investigation was acknowledged already",
                user_id=payload.user.id, acknowledged_by=ack.user_id)
    if outcome.first:
        count("Acknowledged")
    message = payload.message
    if message is None or not payload.channel_id or not payload.message_ts:
        return
    token = _token(installation)
    if token is None:
        return
    try:
        _show_stored(token, tenant_id, investigation_id, payload.channel_id, payload.message_ts, message, latest=None,
                     showing=None if outcome.first or retry else _shown_lines(message), what="acknowledged line")
    except Exception:  # stored: the line shows with the next click or re-render
        logger.exception("acknowledged line not updated", investigation_id=investigation_id)


def _handle_reinvestigate(payload: BlockActions, action: Action) -> None:
    """Store the request's event (once per click: a Slack retry carries the same `action_ts`, hence the same event
    id) and tell the person who asked."""
    logger = get_logger()
    named = investigation_in(payload.message.blocks) if payload.message is not None else None
    clicked = _clicked_target(payload, named, what="re-investigate click")
    if clicked is None:
        return
    tenant_id, investigation_id = clicked[0].tenant_id, clicked[0].investigation_id
    cluster = investigations.cluster_of(tenant_id, investigation_id)
    if cluster is None:
        logger.warning("re-investigate click for an unknown investigation; nothing requested")
        return
    click = action.action_ts or payload.trigger_id or f"{payload.message_ts}:{payload.user.id}"
    event = engine_events.reinvestigation_requested(
        tenant_id, investigation_id, cluster, user_id=payload.user.id,
        user_name=payload.user.username or payload.user.name, click=click, at=datetime.now(UTC))
    recorded = outbox.record_event(event)
    if recorded == outbox.Recorded.UNKNOWN_INVESTIGATION:
        logger.warning("re-investigate click for an unknown investigation; nothing requested")
        return
    logger.info("re-investigation requested", user_id=payload.user.id, event_id=event.event_id,
                retried=recorded == outbox.Recorded.ALREADY_STORED)
    if recorded == outbox.Recorded.STORED:
        count("ReinvestigationRequested")
    _tell_rater(payload.response_url, REINVESTIGATION_REQUESTED)


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


# Re-reads after an update, at most: people clicking one message at the same moment converge in one or two.
_SHOW_ROUNDS = 3
_MENTIONED = re.compile(r"<@([UW][A-Z0-9]+)>")
Lines = tuple[str | None, str | None]  # the feedback line, the "Acknowledged by" line


def _shown_lines(message: PayloadMessage) -> Lines:
    """The feedback line and the "Acknowledged by" line a message (as Slack sent it with a click) shows."""
    return shown_feedback_line(message.blocks), shown_acknowledged_line(message.blocks)


def _show_stored(token: str, tenant_id: str, investigation_id: str, channel_id: str, message_ts: str,
                 message: PayloadMessage, *, latest: ratings.Rating | None, showing: Lines | None, what: str) -> None:
    """Bring the feedback line and the "Acknowledged by" line up to what is stored (`showing`: the lines the message
    has now, None to update in any case), then read again: a rating or an acknowledgement stored while this update
    was on its way (someone else clicking at the same moment) would otherwise be missing from the message, as
    chat.update has no compare-and-set. The last update to land is then one made after everything it must show was
    stored. Both lines come from one Query, so neither click's update ever drops the other's line."""
    shown = shown_feedback_line(message.blocks)
    for _round in range(_SHOW_ROUNDS):
        rows, ack, revised_at = investigations.load_marks(tenant_id, investigation_id)
        # The line names the rater this click answers, else the one the message names already (still rated).
        named = latest or _rater_named(shown, rows)
        summary = ratings.summarize(rows, latest=named, revised_at=revised_at)
        acknowledged = Acknowledged(ack.user_id, datetime.fromtimestamp(ack.acknowledged_at, UTC)) if ack else None
        lines = (render_feedback_line(summary), render_acknowledged(acknowledged) if acknowledged else None)
        if lines == showing:
            return
        blocks = with_feedback_line(message.blocks, summary)
        if acknowledged is not None:
            blocks = with_acknowledged_line(blocks, acknowledged)
        if not _update_message(token, channel_id, message_ts, SlackMessage(text=message.text, blocks=tuple(blocks)),
                               what=what):
            return
        showing = lines


def _rater_named(line: str | None, rows: list[ratings.Rating]) -> ratings.Rating | None:
    named = _MENTIONED.search(line or "")
    return next((row for row in rows if named and row.user_id == named.group(1)), None)


def _update_message(token: str, channel_id: str, message_ts: str, message: SlackMessage, *, what: str) -> bool:
    result = update_message(write_client(token), channel_id, message_ts, message)
    if result.failure is not None:  # stored; the message shows it with the next click or re-render
        get_logger().warning(f"{what} not updated", failure=result.reason, channel_id=channel_id)
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
    tenant_id, investigation_id, user_id = context.tenant_id, context.investigation_id, payload.user.id
    cluster = investigations.cluster_of(tenant_id, investigation_id)
    if cluster is None:
        logger.warning("feedback comment for an unknown investigation; nothing recorded")
        return OK

    def announce(row: ratings.Rating) -> FeedbackRecorded:
        return engine_events.feedback_recorded(row, cluster)

    if not ratings.add_comment(tenant_id, investigation_id, user_id, reason=entered.reason, comment=entered.details,
                               event=announce):
        # The click's write did not happen (or the row was removed): the modal is the rater's word.
        try:
            ratings.record_rating(tenant_id, investigation_id, user_id=user_id, rating=NEEDS_IMPROVEMENT,
                                  team_id=payload.team.id, user_name=payload.user.username or payload.user.name,
                                  channel_id=context.channel_id, message_ts=context.message_ts, event=announce)
        except UnknownInvestigation:
            logger.warning("feedback comment for an unknown investigation; nothing recorded")
            return OK
        _emit_metric(NEEDS_IMPROVEMENT)
        ratings.add_comment(tenant_id, investigation_id, user_id, reason=entered.reason, comment=entered.details,
                            event=announce)
    logger.info("feedback comment recorded", reason=entered.reason, user_id=user_id)
    return OK


def handle_view_closed(payload: ViewClosed) -> None:
    # The rating was recorded by the click; closing the modal only means no comment.
    get_logger().info("feedback modal closed without a comment", user_id=payload.user.id,
                      callback_id=payload.view.callback_id[:64])
