"""Grad mode is per thread: a thread starts with recording on, and no_grad in one thread
leaves the others recording."""

from __future__ import annotations

import threading

import vecgrad


def _in_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_a_new_thread_records_even_inside_another_threads_no_grad():
    with vecgrad.no_grad():
        assert not vecgrad.is_grad_enabled()
        assert _in_thread(vecgrad.is_grad_enabled)
    assert vecgrad.is_grad_enabled()


def test_no_grad_in_a_thread_does_not_leak_out():
    def turn_off():
        with vecgrad.no_grad():
            return vecgrad.is_grad_enabled()

    assert _in_thread(turn_off) is False
    assert vecgrad.is_grad_enabled()
