"""Flask extensions, created unbound and initialised in create_app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from webapp.database import Base

db = SQLAlchemy(model_class=Base)

# The base class of every model. A type checker cannot take a base class from an
# attribute of an instance (db.Model), so to it the models derive from the declarative
# Base that db.Model is made from: same registry, metadata and column types.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# System mail only (webapp/services/system_mail.py); campaign mail has its own SMTP path.
mail = Mail()
