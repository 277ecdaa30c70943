FORMS = ()
